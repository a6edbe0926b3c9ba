import { describe, expect, it } from 'vitest';
import { limiter } from '../../shared/concurrency.js';
import type { NewRecord } from '../../shared/store/bookings.js';
import { newRecordWriter } from '../../shared/sync/new-records.js';

const rec = (id: string) => ({ pk: 'ACCOUNT#a', sk: `BOOKING#${id}`, accountId: 'a', bookingId: id, seq: 0, desired: 'event', updatedAt: '', expiresAt: 0 }) as NewRecord;

describe('newRecordWriter', () => {
  it('holds the records until no calendar write runs or waits, then puts them all in one call', async () => {
    const calls: string[][] = [];
    const writes = limiter(2);
    const put = newRecordWriter({ putNew: async (records) => (calls.push(records.map((r) => r.bookingId)), []) }, writes);
    let releaseLast!: () => void;
    const last = writes(() => new Promise<void>((r) => (releaseLast = r)));
    const first = [put(rec('b1')), put(rec('b2'))];
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([]); // a write still runs
    releaseLast();
    await last;
    // The last write's own record, given right after it ends, goes in the same call.
    await Promise.all([...first, put(rec('b3'))]);
    expect(calls).toEqual([['b1', 'b2', 'b3']]);
    // Nothing runs: the next record goes on the next turn.
    await put(rec('b4'));
    expect(calls).toEqual([['b1', 'b2', 'b3'], ['b4']]);
  });

  it('rejects the records the table left unprocessed, and all of a call that failed', async () => {
    const writes = limiter(1);
    const left = newRecordWriter({ putNew: async (records) => records.filter((r) => r.bookingId === 'x2') }, writes);
    const results = await Promise.allSettled([left(rec('x1')), left(rec('x2'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    const failing = newRecordWriter({ putNew: async () => Promise.reject(new Error('table down')) }, writes);
    const failed = await Promise.allSettled([failing(rec('y1')), failing(rec('y2'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
