import { BatchWriteCommand, GetCommand, paginateQuery, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { BookingDetails, BookingEvent } from '../booking-event.js';
import { accountKey, BOOKING_SK_PREFIX, isConditionFailure, type Table } from './table.js';

/**
 * One record per (account, booking): the desired state (the highest sequence seen, with the
 * event data or "cancelled") and what was applied to the calendar (sequence, URL, ETag).
 * Messages only move the desired state forward, with a conditional write on the sequence,
 * so duplicates and stale messages are no-ops by construction. Nothing secret is kept here.
 */
export interface BookingRecord {
  accountId: string;
  bookingId: string;
  seq: number;
  desired: 'event' | 'cancelled';
  booking?: BookingDetails;
  appliedSeq?: number;
  appliedState?: 'event' | 'deleted';
  eventUrl?: string;
  etag?: string;
  updatedAt: string;
  expiresAt: number;
}

export interface Applied {
  state: 'event' | 'deleted';
  url: string;
  etag?: string;
}

/** Booking records outlive the booking by this long, and cancellations the queue's retention. */
const KEEP_AFTER_END_S = 30 * 24 * 3600;

const key = (accountId: string, bookingId: string) => ({ pk: accountKey(accountId), sk: `${BOOKING_SK_PREFIX}${bookingId}` });

export const isPending = (r: BookingRecord) => r.appliedSeq === undefined || r.appliedSeq < r.seq;

export class BookingStore {
  constructor(
    private readonly table: Table,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Moves the desired state to this event if its sequence is newer and returns the record as
   * it now is; undefined for a stale or duplicate event (nothing changed).
   */
  async advance(event: BookingEvent): Promise<BookingRecord | undefined> {
    const nowS = Math.floor(this.now() / 1000);
    const cancelled = event.type === 'booking.cancelled';
    const endS = cancelled ? nowS : Math.floor(Date.parse(event.booking.end) / 1000);
    const values: Record<string, unknown> = {
      ':seq': event.booking.sequence,
      ':desired': cancelled ? 'cancelled' : 'event',
      ':accountId': event.userId,
      ':bookingId': event.booking.id,
      ':updatedAt': new Date(this.now()).toISOString(),
      ':expiresAt': Math.max(nowS, endS) + KEEP_AFTER_END_S,
    };
    let update = 'SET seq = :seq, desired = :desired, accountId = :accountId, bookingId = :bookingId, updatedAt = :updatedAt, expiresAt = :expiresAt';
    if (cancelled) update += ' REMOVE booking';
    else {
      update += ', booking = :booking';
      values[':booking'] = event.booking;
    }
    try {
      const out = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(event.userId, event.booking.id),
          UpdateExpression: update,
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

  async get(accountId: string, bookingId: string): Promise<BookingRecord | undefined> {
    const out = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: key(accountId, bookingId), ConsistentRead: true }));
    return out.Item as BookingRecord | undefined;
  }

  /** Records what the calendar now holds, if the desired state is still the one applied. */
  async markApplied(accountId: string, bookingId: string, seq: number, applied: Applied): Promise<boolean> {
    const values: Record<string, unknown> = { ':seq': seq, ':state': applied.state, ':url': applied.url };
    let update = 'SET appliedSeq = :seq, appliedState = :state, eventUrl = :url';
    if (applied.etag) {
      update += ', etag = :etag';
      values[':etag'] = applied.etag;
    } else update += ' REMOVE etag';
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(accountId, bookingId),
          UpdateExpression: update,
          ConditionExpression: 'seq = :seq',
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The account's booking records whose desired state is not yet in the calendar. */
  async pending(accountId: string): Promise<BookingRecord[]> {
    const out: BookingRecord[] = [];
    for await (const page of this.pages(accountId, { FilterExpression: 'attribute_not_exists(appliedSeq) OR appliedSeq < seq', ConsistentRead: true })) {
      out.push(...((page.Items ?? []) as BookingRecord[]));
    }
    return out;
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

  /** The account's booking records, a query page at a time. */
  private pages(accountId: string, extra: Partial<QueryCommandInput>) {
    return paginateQuery(
      { client: this.table.doc },
      {
        TableName: this.table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': accountKey(accountId), ':prefix': BOOKING_SK_PREFIX },
        ...extra,
      },
    );
  }
}
