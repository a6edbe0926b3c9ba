import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BatchWriteCommand, paginateQuery, PutCommand } from '@aws-sdk/lib-dynamodb';
import { accountKey, isConditionFailure, type Table } from './table.js';

/**
 * What a busy read keeps so that any container answers warm, under the account's partition:
 *   sk = BUSY#STATE                    when the calendars were last confirmed, and which snapshots that confirmed
 *   sk = BUSY#CAL#<url hash>           one calendar's snapshot: change tokens, covered time range, generation
 *   sk = BUSY#OBJ#<url hash>#<gen>#<n> the snapshot's objects (gzip'd JSON chunks, well under 400 KB each)
 * Objects are stored reduced to their busy-relevant iCalendar (times, rules, TRANSP, STATUS,
 * the account's own PARTSTAT) with their ETag: never titles, descriptions or people.
 * A snapshot is replaced as a whole under a new generation, switched by a conditional write,
 * so concurrent refreshes never mix two states of one calendar.
 */
export const BUSY_SK_PREFIX = 'BUSY#';
const STATE_SK = 'BUSY#STATE';
const calSk = (h: string) => `BUSY#CAL#${h}`;
const objPrefix = (h: string, gen: string) => `BUSY#OBJ#${h}#${gen}#`;
/** Uncompressed JSON per chunk; gzip'd iCalendar is far smaller, so items stay well below 400 KB. */
const CHUNK_BYTES = 300_000;

export const calendarKey = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 24);

export interface CachedObject {
  etag?: string;
  /** The busy-relevant iCalendar of the object. */
  ics: string;
}

export interface CalendarSnapshot {
  url: string;
  gen: string;
  /** Change token (sync token, else ctag) seen before the data was read: the data is at least this new. */
  token?: string;
  /** Where sync-collection continues from. */
  syncToken?: string;
  /** The objects are complete for instances in [coverageFrom, coverageTo). */
  coverageFrom: number;
  coverageTo: number;
  /** false once the server answered a sync-collection without calendar-data. */
  syncData?: boolean;
  chunks: number;
  objects: Map<string, CachedObject>;
}

export interface BusyState {
  /** ms since the epoch: when the calendars were last confirmed unchanged or read. */
  checkedAt: number;
  /** calendarKey(url) → generation of the snapshot that check confirmed. */
  gens: Record<string, string>;
}

export interface BusyCache {
  state?: BusyState;
  /** By calendar URL. */
  calendars: Map<string, CalendarSnapshot>;
}

export const newGeneration = () => randomUUID().slice(0, 12);

export class BusyCacheStore {
  constructor(private readonly table: Table) {}

  async load(accountId: string): Promise<BusyCache> {
    const items: Record<string, any>[] = [];
    for await (const page of this.pages(accountId)) items.push(...(page.Items ?? []));
    const bySk = new Map(items.map((i) => [i.sk as string, i]));
    const stateItem = bySk.get(STATE_SK);
    const calendars = new Map<string, CalendarSnapshot>();
    for (const item of items) {
      if (!/^BUSY#CAL#[0-9a-f]+$/.test(item.sk)) continue;
      const h = (item.sk as string).slice('BUSY#CAL#'.length);
      const objects = new Map<string, CachedObject>();
      let complete = true;
      for (let n = 0; n < Number(item.chunks ?? 0); n++) {
        const chunk = bySk.get(`${objPrefix(h, item.gen)}${n}`);
        if (!chunk?.data) {
          complete = false;
          break;
        }
        for (const [url, etag, ics] of JSON.parse(gunzipSync(Buffer.from(chunk.data)).toString('utf8')) as Array<[string, string | null, string]>) {
          objects.set(url, { ...(etag ? { etag } : {}), ics });
        }
      }
      if (!complete) continue;
      calendars.set(item.url, {
        url: item.url,
        gen: item.gen,
        token: item.token,
        syncToken: item.syncToken,
        coverageFrom: item.coverageFrom,
        coverageTo: item.coverageTo,
        syncData: item.syncData,
        chunks: Number(item.chunks ?? 0),
        objects,
      });
    }
    return {
      ...(stateItem ? { state: { checkedAt: Number(stateItem.checkedAt), gens: (stateItem.gens ?? {}) as Record<string, string> } } : {}),
      calendars,
    };
  }

  /**
   * Stores a snapshot under its (new) generation and switches the calendar to it if the
   * calendar is still at `previous` (none: not stored yet). False when another read switched
   * it first (its snapshot is as good as ours; ours is removed).
   */
  async saveSnapshot(accountId: string, snap: CalendarSnapshot, previous: Pick<CalendarSnapshot, 'gen' | 'chunks'> | undefined): Promise<boolean> {
    const h = calendarKey(snap.url);
    const chunks = toChunks(snap.objects);
    snap.chunks = chunks.length;
    const chunkItems = chunks.map((data, n) => ({ pk: accountKey(accountId), sk: `${objPrefix(h, snap.gen)}${n}`, data }));
    await this.batch(chunkItems.map((Item) => ({ PutRequest: { Item } })));
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: {
            pk: accountKey(accountId),
            sk: calSk(h),
            url: snap.url,
            gen: snap.gen,
            chunks: snap.chunks,
            coverageFrom: snap.coverageFrom,
            coverageTo: snap.coverageTo,
            ...(snap.token ? { token: snap.token } : {}),
            ...(snap.syncToken ? { syncToken: snap.syncToken } : {}),
            ...(snap.syncData !== undefined ? { syncData: snap.syncData } : {}),
          },
          ...(previous ? { ConditionExpression: 'gen = :g', ExpressionAttributeValues: { ':g': previous.gen } } : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      await this.deleteChunks(accountId, h, snap.gen, snap.chunks);
      return false;
    }
    if (previous) await this.deleteChunks(accountId, h, previous.gen, previous.chunks);
    return true;
  }

  /** Records a confirmation; an older one never overwrites a newer one. */
  async saveState(accountId: string, state: BusyState): Promise<void> {
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { pk: accountKey(accountId), sk: STATE_SK, checkedAt: state.checkedAt, gens: state.gens },
          ConditionExpression: 'attribute_not_exists(pk) OR checkedAt <= :t',
          ExpressionAttributeValues: { ':t': state.checkedAt },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** Disconnect: every busy item of the account. */
  async deleteAll(accountId: string): Promise<number> {
    let deleted = 0;
    for await (const page of this.pages(accountId, true)) {
      const keys = page.Items ?? [];
      await this.batch(keys.map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } })));
      deleted += keys.length;
    }
    return deleted;
  }

  private async deleteChunks(accountId: string, h: string, gen: string, count: number) {
    const keys = Array.from({ length: count }, (_, n) => ({ pk: accountKey(accountId), sk: `${objPrefix(h, gen)}${n}` }));
    try {
      await this.batch(keys.map((Key) => ({ DeleteRequest: { Key } })));
    } catch {
      // Unreferenced chunks are ignored by load and removed at disconnect.
    }
  }

  private async batch(requests: Array<Record<string, unknown>>) {
    for (let i = 0; i < requests.length; i += 25) {
      let pending = requests.slice(i, i + 25);
      for (let tries = 0; pending.length && tries < 8; tries++) {
        const out = await this.table.doc.send(new BatchWriteCommand({ RequestItems: { [this.table.name]: pending as any } }));
        pending = (out.UnprocessedItems?.[this.table.name] ?? []) as typeof pending;
        if (pending.length) await new Promise((r) => setTimeout(r, 50 * 2 ** tries));
      }
      if (pending.length) throw new Error('could not write all busy cache items');
    }
  }

  private pages(accountId: string, keysOnly = false) {
    return paginateQuery(
      { client: this.table.doc },
      {
        TableName: this.table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': accountKey(accountId), ':prefix': BUSY_SK_PREFIX },
        ConsistentRead: true,
        ...(keysOnly ? { ProjectionExpression: 'pk, sk' } : {}),
      },
    );
  }
}

function toChunks(objects: Map<string, CachedObject>): Buffer[] {
  const chunks: Buffer[] = [];
  let current: Array<[string, string | null, string]> = [];
  let size = 0;
  const flush = () => {
    chunks.push(gzipSync(JSON.stringify(current)));
    current = [];
    size = 0;
  };
  for (const [url, o] of objects) {
    const entry: [string, string | null, string] = [url, o.etag ?? null, o.ics];
    const bytes = url.length + (o.etag?.length ?? 0) + o.ics.length + 16;
    if (size + bytes > CHUNK_BYTES && current.length) flush();
    current.push(entry);
    size += bytes;
  }
  if (current.length) flush();
  return chunks;
}
