import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { accountKey, ATTEMPTS_SK, isConditionFailure, type Table } from './table.js';

export interface AttemptLimit {
  /** Rejected logins allowed inside the window; the next attempt is refused. */
  max: number;
  windowMs: number;
}

export const CONNECT_LIMIT: AttemptLimit = { max: 5, windowMs: 15 * 60_000 };

export type Reservation = { ok: true; id: string } | { ok: false; retryAfterSeconds: number };

interface Item {
  /** `<epochMs>:<id>` for every rejected login in the window and every login under way. */
  attempts: string[];
  version: number;
}

const at = (entry: string) => Number(entry.split(':', 1)[0]);

/**
 * Sliding-window limit on connect attempts per account — or, with `partition = appleIdKey`,
 * per Apple ID across all accounts — so our API can't be used to guess passwords or get an
 * Apple ID locked. `id` is the account id (or the Apple ID's MAC). An attempt is reserved before the login (counted
 * while under way, so concurrent requests can't overrun the limit), kept when the login is
 * rejected, and released when it was not. Optimistic locking on `version`; no transactions.
 */
export class AttemptStore {
  constructor(
    private readonly table: Table,
    private readonly limit: AttemptLimit = CONNECT_LIMIT,
    private readonly now: () => number = Date.now,
    private readonly partition: (id: string) => string = accountKey,
  ) {}

  async reserve(accountId: string): Promise<Reservation> {
    const id = randomUUID();
    const outcome = await this.change(accountId, (attempts, now) => {
      if (attempts.length >= this.limit.max) return undefined;
      return [...attempts, `${now}:${id}`];
    });
    if (outcome.changed) return { ok: true, id };
    const oldest = Math.min(...outcome.attempts.map(at));
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.limit.windowMs - this.now()) / 1000)) };
  }

  /** The login was not rejected (it worked, or the server could not be reached): forget it. */
  async release(accountId: string, id: string): Promise<void> {
    await this.change(accountId, (attempts) => attempts.filter((a) => !a.endsWith(`:${id}`)));
  }

  /** A successful connect forgets earlier rejected logins too. */
  async clear(accountId: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: { pk: this.partition(accountId), sk: ATTEMPTS_SK } }));
  }

  private async change(
    accountId: string,
    fn: (attempts: string[], now: number) => string[] | undefined,
  ): Promise<{ changed: boolean; attempts: string[] }> {
    const Key = { pk: this.partition(accountId), sk: ATTEMPTS_SK };
    for (let i = 0; i < 10; i++) {
      const now = this.now();
      const out = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key, ConsistentRead: true }));
      const item = out.Item as Item | undefined;
      const current = (item?.attempts ?? []).filter((a) => at(a) > now - this.limit.windowMs);
      const next = fn(current, now);
      if (!next) return { changed: false, attempts: current };
      try {
        await this.table.doc.send(
          new PutCommand({
            TableName: this.table.name,
            Item: { ...Key, attempts: next, version: (item?.version ?? 0) + 1, expiresAt: Math.ceil((now + this.limit.windowMs) / 1000) },
            ConditionExpression: item ? 'version = :v' : 'attribute_not_exists(pk)',
            ...(item ? { ExpressionAttributeValues: { ':v': item.version } } : {}),
          }),
        );
        return { changed: true, attempts: next };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
    throw new Error('connect attempts: too much contention');
  }
}
