import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBookingEvent, type BookingEvent } from '../../shared/booking/booking-event.js';
import { BookingStore, isFailed, isPending } from '../../shared/store/bookings.js';
import { accountKey, CONNECTION_SK, type Table } from '../../shared/store/table.js';
import { bookingEvent } from '../harness/bookings.js';
import { startTable } from '../harness/dynamo.js';

const SWEEP_AFTER = 60_000;
let clock = Date.parse('2026-11-24T10:00:00Z');
let db: Awaited<ReturnType<typeof startTable>>;
let table: Table;
let store: BookingStore;
beforeAll(async () => {
  db = await startTable();
  table = db.table;
  store = new BookingStore(table, () => clock, SWEEP_AFTER);
});
afterAll(async () => {
  await db?.stop();
});

let n = 0;
const account = () => `acct-store-${++n}`;
function event(...args: Parameters<typeof bookingEvent>): BookingEvent {
  const parsed = parseBookingEvent(JSON.stringify(bookingEvent(...args)));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.event;
}

describe('BookingStore.advance', () => {
  it('moves forward on a newer sequence and returns the record as it now is', async () => {
    const a = account();
    const first = await store.advance(event('confirmed', a, 'b1', 1), 'g1');
    expect(first).toMatchObject({ accountId: a, bookingId: 'b1', seq: 1, desired: 'event', booking: { title: 'Consultation b1 v1' } });
    expect(isPending(first!)).toBe(true);
    const cancelled = await store.advance(event('cancelled', a, 'b1', 2), 'g1');
    expect(cancelled).toMatchObject({ seq: 2, desired: 'cancelled' });
    expect(cancelled!.booking).toBeUndefined(); // a cancellation keeps no event data
  });

  it('returns undefined for a duplicate or a stale event and changes nothing', async () => {
    const a = account();
    await store.advance(event('updated', a, 'b1', 5, { title: 'Newest' }), 'g1');
    expect(await store.advance(event('updated', a, 'b1', 5, { title: 'Same sequence, other data' }), 'g1')).toBeUndefined();
    expect(await store.advance(event('confirmed', a, 'b1', 3, { title: 'Older' }), 'g1')).toBeUndefined();
    expect(await store.advance(event('cancelled', a, 'b1', 4), 'g1')).toBeUndefined();
    expect(await store.get(a, 'b1')).toMatchObject({ seq: 5, desired: 'event', booking: { title: 'Newest' } });
  });

  it('keeps a record 30 days past the booking end', async () => {
    const a = account();
    const r = await store.advance(event('confirmed', a, 'b1', 1, { start: '2026-12-01T10:00:00Z', end: '2026-12-01T11:00:00Z' }), 'g1');
    expect(r!.expiresAt).toBe(Date.parse('2026-12-01T11:00:00Z') / 1000 + 30 * 24 * 3600);
  });
});

describe('a change written before it is recorded (advanced, commit, newRecord, putNew)', () => {
  const applied = { state: 'event' as const, url: 'https://p01-caldav.icloud.com/1/calendars/home/x.ics', etag: '"e1"' };
  const withoutIndex = ({ pendingShard: _p, dueAt: _d, unsettledAccount: _u, pk: _pk, sk: _sk, ...rest }: Record<string, unknown>) => rest;

  it('advanced() is the record advance() stores (but the pending index), from a record that was written and refused since', async () => {
    const a = account();
    await store.advance(event('confirmed', a, 'b1', 1), 'g1');
    await store.markApplied(a, 'b1', 1, applied, 'g1');
    await store.advance(event('updated', a, 'b1', 2), 'g1');
    await store.markRetry(a, 'b1', 2, clock);
    await store.markFailed(a, 'b1', 2, 'event_rejected');
    const read = await store.get(a, 'b1');
    for (const next of [event('updated', a, 'b1', 3, { title: 'Third' }), event('cancelled', a, 'b1', 4)]) {
      const planned = store.advanced(await store.get(a, 'b1'), next, 'g2');
      const stored = await store.advance(next, 'g2');
      expect(withoutIndex(planned as never)).toEqual(withoutIndex(stored as never));
    }
    expect(store.advanced(read, event('updated', a, 'b1', 2), 'g1')).toBeUndefined(); // not newer: nothing to record
  });

  it('commit records a new booking in one put, and an update only while the record is as it was read', async () => {
    const a = account();
    expect(await store.commit(event('confirmed', a, 'b1', 0), 'g1', applied, undefined)).toBe(true);
    const created = await store.get(a, 'b1');
    expect(created).toMatchObject({ seq: 0, appliedSeq: 0, appliedState: 'event', eventUrl: applied.url, etag: '"e1"', generation: 'g1', appliedGeneration: 'g1' });
    expect(isPending(created!)).toBe(false);
    expect(created!.pendingShard).toBeUndefined();
    expect(await store.commit(event('confirmed', a, 'b1', 0), 'g1', applied, undefined)).toBe(false); // it exists now
    // Read at seq 0; v2 recorded meanwhile: the commit of v1 is refused, v2 stays pending.
    await store.advance(event('updated', a, 'b1', 2), 'g1');
    expect(await store.commit(event('updated', a, 'b1', 1), 'g1', { ...applied, etag: undefined }, 0)).toBe(false);
    expect(await store.get(a, 'b1')).toMatchObject({ seq: 2, appliedSeq: 0 });
    expect(await store.commit(event('updated', a, 'b1', 3), 'g1', { ...applied, etag: undefined }, 2)).toBe(true);
    const updated = await store.get(a, 'b1');
    expect(updated).toMatchObject({ seq: 3, appliedSeq: 3 });
    expect(updated!.etag).toBeUndefined(); // no ETag came back: none kept
    expect(updated!.pendingShard).toBeUndefined();
    expect(updated!.unsettledAccount).toBeUndefined();
  });

  it('putNew writes new records together and hands back what the table left unprocessed', async () => {
    const a = account();
    const records = Array.from({ length: 30 }, (_, i) => store.newRecord(event('confirmed', a, `b${i}`, 0), 'g1', applied));
    expect(await store.putNew(records)).toEqual([]);
    for (const i of [0, 24, 25, 29]) expect(await store.get(a, `b${i}`)).toMatchObject({ seq: 0, appliedSeq: 0, generation: 'g1' });
    let calls = 0;
    const stubborn = new BookingStore({ name: table.name, doc: { send: async (cmd: { input: { RequestItems: Record<string, unknown[]> } }) => (calls++, { UnprocessedItems: cmd.input.RequestItems }) } } as never);
    expect(await stubborn.putNew(records.slice(0, 2))).toEqual(records.slice(0, 2));
    expect(calls).toBe(4); // tried again before giving up
  });
});

describe('BookingStore.markApplied', () => {
  it('is conditional on the sequence: a newer desired state stays pending', async () => {
    const a = account();
    await store.advance(event('confirmed', a, 'b1', 1), 'g1');
    expect(await store.markApplied(a, 'b1', 1, { state: 'event', url: 'https://cal.example/b1.ics', etag: '"e1"' })).toBe(true);
    expect(await store.unsettled(a)).toEqual([]);

    await store.advance(event('updated', a, 'b1', 2), 'g1'); // arrives while seq 1 was being written
    expect(await store.markApplied(a, 'b1', 1, { state: 'event', url: 'https://cal.example/b1.ics', etag: '"e1b"' })).toBe(false);
    const record = await store.get(a, 'b1');
    expect(record).toMatchObject({ seq: 2, appliedSeq: 1, etag: '"e1"' });
    expect((await store.unsettled(a)).map((r) => r.bookingId)).toEqual(['b1']);

    // Applying a deletion without an ETag drops the old one.
    await store.advance(event('cancelled', a, 'b1', 3), 'g1');
    expect(await store.markApplied(a, 'b1', 3, { state: 'deleted', url: 'https://cal.example/b1.ics' })).toBe(true);
    const deleted = await store.get(a, 'b1');
    expect(deleted).toMatchObject({ seq: 3, appliedSeq: 3, appliedState: 'deleted' });
    expect(deleted!.etag).toBeUndefined();
  });

  it('does not create a record for a booking it never saw', async () => {
    const a = account();
    expect(await store.markApplied(a, 'ghost', 1, { state: 'event', url: 'https://cal.example/ghost.ics' })).toBe(false);
    expect(await store.get(a, 'ghost')).toBeUndefined();
  });
});

describe('BookingStore.deleteAll', () => {
  it('deletes every booking record of the account across pages, and nothing else', async () => {
    const a = account();
    const other = account();
    const COUNT = 80; // several BatchWrites (25 each) and, at 16 kB each, more than one 1 MB query page
    for (let i = 0; i < COUNT; i++) await store.advance(event('confirmed', a, `b${i}`, 1, { description: 'x'.repeat(16_000) }), 'g1');
    await store.advance(event('confirmed', other, 'b0', 1), 'g1');
    await table.doc.send(new PutCommand({ TableName: table.name, Item: { pk: accountKey(a), sk: CONNECTION_SK, appleId: 'kay@icloud.com' } }));

    const firstPage = await table.doc.send(new QueryCommand({ TableName: table.name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': accountKey(a) } }));
    expect(firstPage.LastEvaluatedKey).toBeDefined(); // the records really span query pages

    expect(await store.deleteAll(a)).toBe(COUNT);
    expect(await store.unsettled(a)).toEqual([]);
    for (const id of ['b0', 'b29', `b${COUNT - 1}`]) expect(await store.get(a, id)).toBeUndefined();
    // The other account's booking and this account's connection record are untouched.
    expect(await store.get(other, 'b0')).toMatchObject({ seq: 1 });
    const connection = await table.doc.send(new GetCommand({ TableName: table.name, Key: { pk: accountKey(a), sk: CONNECTION_SK } }));
    expect(connection.Item).toMatchObject({ appleId: 'kay@icloud.com' });

    expect(await store.deleteAll(a)).toBe(0); // idempotent
  });
});

describe('the pending index (the sweeper\'s work list)', () => {
  const dueIds = async (at: number, accountId: string) => {
    const out: string[] = [];
    for await (const page of store.duePages(at, 2)) for (const r of page) if (r.accountId === accountId) out.push(`${r.bookingId}@${r.seq}`);
    return out.sort();
  };

  it('holds a change from advance until it is written, due one sweep interval later', async () => {
    const a = account();
    await store.advance(event('confirmed', a, 'b1', 0), 'g1');
    expect(await dueIds(clock + SWEEP_AFTER - 1, a)).toEqual([]);
    expect(await dueIds(clock + SWEEP_AFTER, a)).toEqual(['b1@0']);
    expect(await store.markApplied(a, 'b1', 0, { state: 'event', url: 'https://cal.example/b1.ics' })).toBe(true);
    expect(await dueIds(clock + 10 * SWEEP_AFTER, a)).toEqual([]);
    // A newer change puts it back.
    await store.advance(event('updated', a, 'b1', 1), 'g1');
    expect(await dueIds(clock + SWEEP_AFTER, a)).toEqual(['b1@1']);
  });

  it('a retry counts attempts and is due when its backoff is over', async () => {
    const a = account();
    await store.advance(event('confirmed', a, 'b1', 0), 'g1');
    expect(await store.markRetry(a, 'b1', 0, clock + 2_000)).toBe(1);
    expect(await store.markRetry(a, 'b1', 0, clock + 120_000)).toBe(2);
    expect(await dueIds(clock + 119_999, a)).toEqual([]);
    expect(await dueIds(clock + 120_000, a)).toEqual(['b1@0']);
    // Out of time is no failure: due at once, attempts kept as they are.
    expect(await store.markRetry(a, 'b1', 0, clock, false)).toBe(2);
    expect(await dueIds(clock, a)).toEqual(['b1@0']);
    expect(await store.markRetry(a, 'b1', 7, clock)).toBeUndefined(); // not that sequence: nothing
    // A new sequence starts counting again.
    expect(await store.advance(event('updated', a, 'b1', 1), 'g1')).not.toHaveProperty('attempts');
  });

  it('a refusal leaves the index with its reason, until the booking changes or is reopened', async () => {
    const a = account();
    const r0 = (await store.advance(event('confirmed', a, 'b1', 0), 'g1'))!;
    expect(await store.markFailed(a, 'b1', 0, 'event_rejected')).toBe(true);
    const failed = (await store.get(a, 'b1'))!;
    expect(failed).toMatchObject({ failedSeq: 0, failure: 'event_rejected' });
    expect(isFailed(failed)).toBe(true);
    expect(isPending(failed)).toBe(false);
    expect(await dueIds(clock + 10 * SWEEP_AFTER, a)).toEqual([]);
    expect((await store.unsettled(a)).map((r) => r.bookingId)).toEqual(['b1']);

    expect(await store.reopen(r0)).toBe(true);
    const reopened = (await store.get(a, 'b1'))!;
    expect(isPending(reopened)).toBe(true);
    expect(await dueIds(clock + SWEEP_AFTER, a)).toEqual(['b1@0']);

    await store.markFailed(a, 'b1', 0, 'event_rejected');
    const changed = (await store.advance(event('updated', a, 'b1', 1), 'g1'))!;
    expect(isPending(changed)).toBe(true);
    expect(changed.failedSeq).toBeUndefined();
  });

  it('the sweeper reads due records a page at a time, keys only', async () => {
    const a = account();
    for (const id of ['p1', 'p2', 'p3']) await store.advance(event('confirmed', a, id, 0), 'g1');
    const pages: string[][] = [];
    for await (const page of store.duePages(clock + SWEEP_AFTER, 2)) pages.push(...[page.filter((r) => r.accountId === a).map((r) => Object.keys(r).sort().join(','))]);
    expect(pages.every((p) => p.length <= 2)).toBe(true);
    expect(pages.flat()).toEqual(Array(3).fill('accountId,bookingId,generation,seq'));
  });

  it('reopen never puts a change back that was written meanwhile (a reconnect racing the write)', async () => {
    const a = account();
    const seen = (await store.advance(event('confirmed', a, 'b1', 0), 'g1'))!;
    await store.markFailed(a, 'b1', 0, 'event_rejected');
    // The reconnect read the record (refused) …, then a write of the same sequence landed.
    await store.advance(event('updated', a, 'b1', 0), 'g1'); // stale: nothing
    expect(await store.markApplied(a, 'b1', 0, { state: 'event', url: 'https://cal.example/b1.ics' }, 'g1')).toBe(true);
    expect(await store.reopen(seen)).toBe(false);
    expect(isPending((await store.get(a, 'b1'))!)).toBe(false);
    expect(await dueIds(clock + 10 * SWEEP_AFTER, a)).toEqual([]);
  });

  it('markApplied records the connection it wrote with, and refuses when the record moved to another', async () => {
    const a = account();
    await store.advance(event('confirmed', a, 'b1', 0), 'g1');
    expect(await store.markApplied(a, 'b1', 0, { state: 'event', url: 'https://cal.example/b1.ics' }, 'g2')).toBe(false);
    expect(await store.markApplied(a, 'b1', 0, { state: 'event', url: 'https://cal.example/b1.ics' }, 'g1')).toBe(true);
    expect(await store.get(a, 'b1')).toMatchObject({ appliedGeneration: 'g1', generation: 'g1' });
  });

  it('an account’s unsettled changes are read from their sparse index, never all of its records', async () => {
    const a = account();
    for (let i = 0; i < 30; i++) {
      await store.advance(event('confirmed', a, `w${i}`, 0), 'g1');
      await store.markApplied(a, `w${i}`, 0, { state: 'event', url: `https://cal.example/w${i}.ics` }, 'g1');
    }
    await store.advance(event('confirmed', a, 'p1', 0), 'g1');
    await store.advance(event('confirmed', a, 'f1', 0), 'g1');
    await store.markFailed(a, 'f1', 0, 'event_rejected');
    let scanned = 0;
    const name = `count-${Math.random()}`;
    table.doc.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        scanned += Number((out.output as { ScannedCount?: number }).ScannedCount ?? 0);
        return out;
      },
      { step: 'initialize', name },
    );
    try {
      const records = await store.unsettled(a);
      expect(records.map((r) => r.bookingId).sort()).toEqual(['f1', 'p1']);
      expect(records.filter(isPending).map((r) => r.bookingId)).toEqual(['p1']);
      expect(records.filter(isFailed).map((r) => r.bookingId)).toEqual(['f1']);
    } finally {
      table.doc.middlewareStack.remove(name);
    }
    expect(scanned).toBe(2); // the 30 written records are not read
  });

  it('a pending record from before the unsettled index joins it when the sweeper postpones it', async () => {
    const a = account();
    const r = (await store.advance(event('confirmed', a, 'old1', 0), 'g1'))!;
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await table.doc.send(new UpdateCommand({ TableName: table.name, Key: { pk: accountKey(a), sk: 'BOOKING#old1' }, UpdateExpression: 'REMOVE unsettledAccount' }));
    expect(await store.unsettled(a)).toEqual([]);
    expect(await store.postpone(r, SWEEP_AFTER)).toBe(true);
    expect((await store.unsettled(a)).map((x) => x.bookingId)).toEqual(['old1']);
  });

  it('deleteIf removes a record only at the sequence it was seen with', async () => {
    const a = account();
    const r0 = (await store.advance(event('confirmed', a, 'b1', 0), 'g1'))!;
    await store.advance(event('updated', a, 'b1', 1), 'g1');
    expect(await store.deleteIf(r0)).toBe(false);
    expect(await store.get(a, 'b1')).toMatchObject({ seq: 1 });
    expect(await store.deleteIf({ ...r0, seq: 1 })).toBe(true);
    expect(await store.get(a, 'b1')).toBeUndefined();
  });
});
