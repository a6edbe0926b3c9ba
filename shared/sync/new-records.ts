import type { Limiter } from '../concurrency.js';
import type { BookingStore, NewRecord } from '../store/bookings.js';

/** Takes a new booking's record once its event is written; resolves when the record is in the table. */
export type NewRecordWriter = (record: NewRecord) => Promise<void>;

/**
 * The records of the bookings one invocation writes for the first time, put together: each
 * waits until no calendar write of the invocation runs or waits any more, then they all go in
 * one BatchWriteItem (in place of one PutItem each, between the calendar writes). A record
 * the table does not take rejects its waiter (its change is then recorded as any other).
 */
export function newRecordWriter(store: Pick<BookingStore, 'putNew'>, writes: Limiter): NewRecordWriter {
  let queued: Array<{ record: NewRecord; resolve: () => void; reject: (err: unknown) => void }> = [];

  async function flush() {
    const batch = queued;
    queued = [];
    try {
      const left = new Set((await store.putNew(batch.map((q) => q.record))).map((r) => r.sk));
      for (const q of batch) {
        if (left.has(q.record.sk)) q.reject(new Error('booking record not written: the table left it unprocessed'));
        else q.resolve();
      }
    } catch (err) {
      for (const q of batch) q.reject(err);
    }
  }

  return (record) =>
    new Promise<void>((resolve, reject) => {
      // On the turn after the last write ends: its own record comes right after it.
      if (!queued.length) void writes.whenIdle().then(() => setImmediate(() => void flush()));
      queued.push({ record, resolve, reject });
    });
}
