import { createHash } from 'node:crypto';
import { BatchWriteCommand, DeleteCommand, paginateQuery, PutCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { BookingDetails, BookingEvent } from '../booking/booking-event.js';
import { consistentGet, type ItemReader } from './batched-reads.js';
import { accountKey, BOOKING_SK_PREFIX, isConditionFailure, PENDING_INDEX, UNSETTLED_INDEX, type Table } from './table.js';

/**
 * One record per (account, booking): the desired state (the highest sequence seen, with the
 * event data or "cancelled") and what was applied to the calendar (sequence, URL, ETag).
 * Messages only move the desired state forward, with a conditional write on the sequence,
 * so duplicates and stale messages are no-ops by construction. Nothing secret is kept here.
 *
 * While a change is not yet in the calendar the record is in the sparse `pending` index
 * (`pendingShard` + `dueAt`): the sweeper finds there every change whose time has passed and
 * puts it back on the queue. A change refused for good leaves the index and carries
 * `failedSeq`/`failure` until the booking changes again or the account reconnects.
 */
export interface BookingRecord {
  accountId: string;
  bookingId: string;
  seq: number;
  desired: 'event' | 'cancelled';
  booking?: BookingDetails;
  /** The connection (generation) the change arrived under; see Connection.generation. */
  generation?: string;
  appliedSeq?: number;
  appliedState?: 'event' | 'deleted';
  /**
   * The connection (generation) `eventUrl`/`etag` were written with. A record can outlive its
   * connection (a write racing a disconnect): a later generation never aims at that old URL.
   */
  appliedGeneration?: string;
  eventUrl?: string;
  etag?: string;
  /** Index keys, present only while the change waits to be written. */
  pendingShard?: string;
  /** The account, while the change is not in the calendar (pending or refused): the `unsettled` index. */
  unsettledAccount?: string;
  /**
   * When the sweeper re-drives the change if it is still not written (epoch ms): a safety net
   * after a new change, the backoff's next try after a failure of this booking.
   */
  dueAt?: number;
  /** Transient failures of this change so far (drives the backoff). */
  attempts?: number;
  /** The sequence the calendar server refused for good, and why. */
  failedSeq?: number;
  failure?: string;
  /** When the applied state was written (epoch ms): a listing may not show it yet (iCloud's read lag). */
  appliedAt?: number;
  /** The host's own change to the event written at `hostChange.seq`, as reported to the booking service (§2b). */
  hostChange?: RecordedHostChange;
  updatedAt: string;
  expiresAt: number;
}

export interface RecordedHostChange {
  kind: 'deleted' | 'rescheduled';
  /** The sequence the connector had written when the host changed it. */
  seq: number;
  /** For a reschedule: the event's times now (UTC). */
  start?: string;
  end?: string;
  reportedAt: string;
}

/** What the unsettled index holds of a record: enough to count it and to reopen it. */
export type UnsettledRecord = Pick<BookingRecord, 'accountId' | 'bookingId' | 'seq' | 'appliedSeq' | 'failedSeq' | 'generation' | 'hostChange'>;

/** A whole booking record with its table keys, as put at once. */
export type NewRecord = BookingRecord & { pk: string; sk: string };

/** What the sweeper reads of a due record (the index query projects no more). */
export type DueRecord = Pick<BookingRecord, 'accountId' | 'bookingId' | 'seq' | 'generation'>;

export interface Applied {
  state: 'event' | 'deleted';
  url: string;
  etag?: string;
}

/** Booking records outlive the booking by this long, and cancellations the queue's retention. */
const KEEP_AFTER_END_S = 30 * 24 * 3600;
/** The pending index is spread over this many partitions (by account). */
export const PENDING_SHARDS = 4;

const key = (accountId: string, bookingId: string) => ({ pk: accountKey(accountId), sk: `${BOOKING_SK_PREFIX}${bookingId}` });
export const pendingShard = (accountId: string) => `PENDING#${createHash('sha256').update(accountId).digest()[0]! % PENDING_SHARDS}`;

/**
 * Not yet in the calendar: neither written nor refused for good — nor changed by the host at
 * this sequence (the connector does not fight the host until a higher sequence arrives).
 */
export const isPending = (r: Pick<BookingRecord, 'seq' | 'appliedSeq' | 'failedSeq' | 'hostChange'>) =>
  (r.appliedSeq === undefined || r.appliedSeq < r.seq) && r.failedSeq !== r.seq && !(r.hostChange && r.hostChange.seq >= r.seq);
/** The host's change that applies to what the calendar holds now (one at an older sequence was overwritten since). */
export const currentHostChange = (r: Pick<BookingRecord, 'seq' | 'appliedSeq' | 'hostChange'>) =>
  r.hostChange && r.hostChange.seq === r.appliedSeq && r.appliedSeq === r.seq ? r.hostChange : undefined;
/** Refused for good at its current sequence. */
export const isFailed = (r: Pick<BookingRecord, 'seq' | 'appliedSeq' | 'failedSeq'>) => r.failedSeq === r.seq && (r.appliedSeq === undefined || r.appliedSeq < r.seq);

export class BookingStore {
  constructor(
    private readonly table: Table,
    private readonly now: () => number = Date.now,
    /** A change not written within this long is re-driven by the sweeper. */
    readonly sweepAfterMs = 300_000,
    /** Single-item reads; `batchedReads(table)` makes reads issued together one BatchGetItem (sync shares one with its connections). */
    private readonly read: ItemReader = consistentGet(table),
  ) {}

  /**
   * Moves the desired state to this event if its sequence is newer and returns the record as
   * it now is; undefined for a stale or duplicate event (nothing changed).
   */
  async advance(event: BookingEvent, generation: string): Promise<BookingRecord | undefined> {
    const { set, remove, values } = this.advanceUpdate(event, generation);
    values[':shard'] = pendingShard(event.userId);
    values[':due'] = this.now() + this.sweepAfterMs;
    try {
      const out = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(event.userId, event.booking.id),
          UpdateExpression: `SET ${[...set, 'pendingShard = :shard', 'dueAt = :due', 'unsettledAccount = :accountId'].join(', ')} REMOVE ${remove.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as BookingRecord;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /**
   * The record as `advance` would leave it, were it `read` now (undefined: no record): what a
   * write that is recorded only once done (`commit`) works from. Undefined for a stale or
   * duplicate event, as `advance` answers.
   */
  advanced(read: BookingRecord | undefined, event: BookingEvent, generation: string): BookingRecord | undefined {
    if (read && read.seq >= event.booking.sequence) return undefined;
    const { values } = this.advanceUpdate(event, generation);
    const { attempts: _a, failedSeq: _f, failure: _r, booking: _b, ...kept } = read ?? ({} as Partial<BookingRecord>);
    return {
      ...kept,
      accountId: event.userId,
      bookingId: event.booking.id,
      seq: event.booking.sequence,
      desired: values[':desired'] as BookingRecord['desired'],
      ...(values[':booking'] ? { booking: values[':booking'] as BookingDetails } : {}),
      generation,
      updatedAt: values[':updatedAt'] as string,
      expiresAt: values[':expiresAt'] as number,
    };
  }

  /**
   * Records a change and that it is in the calendar, in one write: for a change written before
   * it was recorded (`advanced` from `readSeq`, the sequence the record had when read;
   * undefined: there was none). Only if the record is still as it was read — a disconnect
   * that deleted it, or another change recorded meanwhile, makes this false.
   */
  async commit(event: BookingEvent, generation: string, applied: Applied, readSeq: number | undefined): Promise<boolean> {
    try {
      if (readSeq === undefined) {
        // No record yet (a new booking, the common case): the whole record in one put.
        await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: this.newRecord(event, generation, applied), ConditionExpression: 'attribute_not_exists(pk)' }));
        return true;
      }
      const change = this.advanceUpdate(event, generation);
      const written = this.appliedUpdate(applied, generation);
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(event.userId, event.booking.id),
          UpdateExpression: `SET ${[...change.set, ...written.set].join(', ')} REMOVE ${[...change.remove, ...written.remove].join(', ')}`,
          ConditionExpression: 'seq = :readSeq',
          ExpressionAttributeValues: { ...change.values, ...written.values, ':readSeq': readSeq },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The whole record of a booking that had none, with this change recorded as written (`commit`'s item). */
  newRecord(event: BookingEvent, generation: string, applied: Applied): NewRecord {
    return {
      ...key(event.userId, event.booking.id),
      ...this.advanced(undefined, event, generation)!,
      appliedSeq: event.booking.sequence,
      appliedState: applied.state,
      eventUrl: applied.url,
      appliedAt: this.now(),
      appliedGeneration: generation,
      ...(applied.etag ? { etag: applied.etag } : {}),
    };
  }

  /**
   * Puts new records (`newRecord`s) in as few BatchWriteItems as fit (25 each), retrying what
   * the table leaves unprocessed; returns the ones still not written. A BatchWriteItem takes no
   * condition: only for records no one else creates meanwhile — a booking's record is created
   * only by the sync of its account, one at a time (the account's message group).
   */
  async putNew(records: NewRecord[]): Promise<NewRecord[]> {
    const left: NewRecord[] = [];
    for (let i = 0; i < records.length; i += 25) {
      let requests = records.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let tries = 0; requests.length && tries < 4; tries++) {
        if (tries) await new Promise((r) => setTimeout(r, 20 * 2 ** tries));
        const out = await this.table.doc.send(new BatchWriteCommand({ RequestItems: { [this.table.name]: requests } }));
        requests = (out.UnprocessedItems?.[this.table.name] ?? []) as typeof requests;
      }
      left.push(...requests.map((r) => r.PutRequest.Item));
    }
    return left;
  }

  /**
   * What recording a write of the desired state (`:seq`) sets and removes — out of the pending
   * and unsettled indexes — shared by `markApplied` and `commit`.
   */
  private appliedUpdate(applied: Applied, generation?: string) {
    const values: Record<string, unknown> = { ':state': applied.state, ':url': applied.url, ':at': this.now() };
    const set = ['appliedSeq = :seq', 'appliedState = :state', 'eventUrl = :url', 'appliedAt = :at'];
    const remove = ['pendingShard', 'dueAt', 'unsettledAccount'];
    if (generation) {
      set.push('appliedGeneration = :gen');
      values[':gen'] = generation;
    }
    if (applied.etag) {
      set.push('etag = :etag');
      values[':etag'] = applied.etag;
    } else remove.push('etag');
    return { set, remove, values };
  }

  /** What recording a new desired state sets and removes, shared by `advance` and `commit`. */
  private advanceUpdate(event: BookingEvent, generation: string) {
    const now = this.now();
    const nowS = Math.floor(now / 1000);
    const cancelled = event.type === 'booking.cancelled';
    const endS = cancelled ? nowS : Math.floor(Date.parse(event.booking.end) / 1000);
    const values: Record<string, unknown> = {
      ':seq': event.booking.sequence,
      ':desired': cancelled ? 'cancelled' : 'event',
      ':accountId': event.userId,
      ':bookingId': event.booking.id,
      ':generation': generation,
      ':updatedAt': new Date(now).toISOString(),
      ':expiresAt': Math.max(nowS, endS) + KEEP_AFTER_END_S,
    };
    const set = ['seq = :seq', 'desired = :desired', 'accountId = :accountId', 'bookingId = :bookingId', 'generation = :generation', 'updatedAt = :updatedAt', 'expiresAt = :expiresAt'];
    const remove = ['attempts', 'failedSeq', 'failure'];
    if (cancelled) remove.push('booking');
    else {
      set.push('booking = :booking');
      values[':booking'] = event.booking;
    }
    return { set, remove, values };
  }

  async get(accountId: string, bookingId: string): Promise<BookingRecord | undefined> {
    return (await this.read(key(accountId, bookingId))) as BookingRecord | undefined;
  }

  /**
   * Records what the calendar now holds, if the desired state is still the one applied and
   * still of the connection (`generation`) it was written with.
   */
  async markApplied(accountId: string, bookingId: string, seq: number, applied: Applied, generation?: string): Promise<boolean> {
    const { set, remove, values } = this.appliedUpdate(applied, generation);
    remove.push('attempts', 'failedSeq', 'failure');
    const update = `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`;
    return this.conditional(accountId, bookingId, seq, update, values, generation ? 'attribute_not_exists(generation) OR generation = :gen' : undefined);
  }

  /**
   * The account's bookings whose event the calendar holds as the connector wrote it last
   * (written, not pending): what host-change detection watches.
   */
  async written(accountId: string): Promise<BookingRecord[]> {
    const out: BookingRecord[] = [];
    const filter = { FilterExpression: 'appliedState = :event AND appliedSeq = seq', ExpressionAttributeValues: { ':event': 'event' } };
    for await (const page of this.pages(accountId, { ...filter, ConsistentRead: true })) out.push(...((page.Items ?? []) as BookingRecord[]));
    return out;
  }

  /**
   * Records the host's change to the event written at `seq` (reported once; the connector
   * leaves it be). The record joins the unsettled index — the calendar no longer holds what the
   * booking says — so the details count it; writing a higher sequence takes it out again.
   */
  async recordHostChange(accountId: string, bookingId: string, seq: number, change: RecordedHostChange): Promise<boolean> {
    return this.conditional(accountId, bookingId, seq, 'SET hostChange = :hc, unsettledAccount = accountId', { ':hc': change }, 'appliedSeq = :seq');
  }

  /** The host moved the event to another calendar of the account: it is watched (and updated) there. */
  async relocate(accountId: string, bookingId: string, seq: number, url: string, etag: string | undefined): Promise<boolean> {
    return this.conditional(accountId, bookingId, seq, `SET eventUrl = :url${etag ? ', etag = :etag' : ''}${etag ? '' : ' REMOVE etag'}`, { ':url': url, ...(etag ? { ':etag': etag } : {}) }, 'appliedSeq = :seq');
  }

  /**
   * The change stays pending and is due again at `dueAt` (epoch ms; the sweeper re-drives it
   * then). `countAttempt`: a failure of this change (the backoff grows), not merely out of time.
   * Returns the attempts so far; undefined when the record moved on (nothing to retry).
   */
  async markRetry(accountId: string, bookingId: string, seq: number, dueAt: number, countAttempt = true): Promise<number | undefined> {
    try {
      const out = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(accountId, bookingId),
          UpdateExpression: countAttempt ? 'SET dueAt = :due, attempts = if_not_exists(attempts, :zero) + :one' : 'SET dueAt = :due',
          ConditionExpression: 'seq = :seq AND attribute_exists(pendingShard)',
          ExpressionAttributeValues: { ':seq': seq, ':due': dueAt, ...(countAttempt ? { ':zero': 0, ':one': 1 } : {}) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(out.Attributes?.attempts ?? 0);
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /** The calendar server refused this change for good: out of the pending index, with its reason. */
  async markFailed(accountId: string, bookingId: string, seq: number, reason: string): Promise<boolean> {
    return this.conditional(accountId, bookingId, seq, 'SET failedSeq = :seq, failure = :reason REMOVE pendingShard, dueAt, attempts', {
      ':seq': seq,
      ':reason': reason,
    });
  }

  /**
   * Makes a refused or held change due again (after a reconnect) — only while it is still not
   * in the calendar: a write that landed meanwhile is never put back into the pending index.
   */
  async reopen(record: UnsettledRecord): Promise<boolean> {
    return this.conditional(
      record.accountId,
      record.bookingId,
      record.seq,
      'SET pendingShard = :shard, dueAt = :due REMOVE failedSeq, failure, attempts',
      { ':seq': record.seq, ':shard': pendingShard(record.accountId), ':due': this.now() + this.sweepAfterMs },
      'attribute_not_exists(appliedSeq) OR appliedSeq < :seq',
    );
  }

  /** Pushes a pending change's sweep time out (its account is held until it reconnects). */
  async postpone(record: DueRecord, byMs: number): Promise<boolean> {
    // Also puts a record from before the `unsettled` index into it (`accountId` copied).
    return this.conditional(record.accountId, record.bookingId, record.seq, 'SET dueAt = :due, unsettledAccount = accountId', { ':seq': record.seq, ':due': this.now() + byMs });
  }

  /** Deletes one record if it is still at this sequence (an orphan of a gone connection). */
  async deleteIf(record: DueRecord): Promise<boolean> {
    try {
      await this.table.doc.send(
        new DeleteCommand({ TableName: this.table.name, Key: key(record.accountId, record.bookingId), ConditionExpression: 'seq = :seq', ExpressionAttributeValues: { ':seq': record.seq } }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * The account's records whose desired state is not in the calendar: pending and refused ones,
   * and those the host changed there (the sparse `unsettled` index: never the account's other
   * records; eventually consistent).
   */
  async unsettled(accountId: string): Promise<UnsettledRecord[]> {
    const out: UnsettledRecord[] = [];
    const pages = paginateQuery(
      { client: this.table.doc },
      {
        TableName: this.table.name,
        IndexName: UNSETTLED_INDEX,
        KeyConditionExpression: 'unsettledAccount = :a',
        ExpressionAttributeValues: { ':a': accountId },
      },
    );
    for await (const page of pages) out.push(...((page.Items ?? []) as UnsettledRecord[]).filter((r) => isPending(r) || isFailed(r) || currentHostChange(r)));
    return out;
  }

  /**
   * The account's records, only what the details counts need (the sync state, not the
   * booking): pending, refused, and changed by the host.
   */
  /**
   * Every pending change, across accounts, whose sweep time has come (the sparse index), a page
   * of at most `pageSize` at a time and only the keys the sweeper needs — never all at once.
   */
  async *duePages(now = this.now(), pageSize = 200): AsyncGenerator<DueRecord[]> {
    for (let shard = 0; shard < PENDING_SHARDS; shard++) {
      const pages = paginateQuery(
        { client: this.table.doc, pageSize },
        {
          TableName: this.table.name,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingShard = :shard AND dueAt <= :now',
          ProjectionExpression: '#a, #b, #s, #g',
          ExpressionAttributeNames: { '#a': 'accountId', '#b': 'bookingId', '#s': 'seq', '#g': 'generation' },
          ExpressionAttributeValues: { ':shard': `PENDING#${shard}`, ':now': now },
        },
      );
      for await (const page of pages) if (page.Items?.length) yield page.Items as DueRecord[];
    }
  }

  /**
   * Deletes all of an account's booking records (disconnect drops pending changes with the
   * credentials). The connection and the connect-attempts record are left to their owners.
   */
  async deleteAll(accountId: string): Promise<number> {
    let deleted = 0;
    for await (const page of this.pages(accountId, { ProjectionExpression: 'pk, sk' })) {
      const keys = page.Items ?? [];
      for (let i = 0; i < keys.length; i += 25) {
        let requests = keys.slice(i, i + 25).map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } }));
        for (let tries = 0; requests.length && tries < 8; tries++) {
          const out = await this.table.doc.send(new BatchWriteCommand({ RequestItems: { [this.table.name]: requests } }));
          requests = (out.UnprocessedItems?.[this.table.name] ?? []) as typeof requests;
          if (requests.length) await new Promise((r) => setTimeout(r, 50 * 2 ** tries));
        }
        if (requests.length) throw new Error('could not delete all booking records');
        deleted += Math.min(25, keys.length - i);
      }
    }
    return deleted;
  }

  private async conditional(accountId: string, bookingId: string, seq: number, update: string, values: Record<string, unknown>, andAlso?: string): Promise<boolean> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(accountId, bookingId),
          UpdateExpression: update,
          ConditionExpression: andAlso ? `seq = :seq AND (${andAlso})` : 'seq = :seq',
          ExpressionAttributeValues: { ':seq': seq, ...values },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The account's booking records, a query page at a time. */
  private pages(accountId: string, extra: Partial<QueryCommandInput>) {
    return paginateQuery(
      { client: this.table.doc },
      {
        TableName: this.table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ...extra,
        ExpressionAttributeValues: { ':pk': accountKey(accountId), ':prefix': BOOKING_SK_PREFIX, ...extra.ExpressionAttributeValues },
      },
    );
  }
}
