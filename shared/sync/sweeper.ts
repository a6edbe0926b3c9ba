import type { BookingEvent } from '../booking/booking-event.js';
import type { BookingQueue } from '../booking/booking-queue.js';
import { mapLimit } from '../concurrency.js';
import type { Log } from '../logger.js';
import type { BookingRecord, BookingStore } from '../store/bookings.js';
import type { ConnectionStore } from '../store/connections.js';
import { latestEvent } from './requeue.js';

export interface SweepDeps {
  bookings: BookingStore;
  connections: ConnectionStore;
  queue: Pick<BookingQueue, 'send'>;
  log: Log;
  /** A re-driven change is looked at again after this long if it is still not written. */
  sweepAfterMs: number;
  now?: () => Date;
}

export interface SweepResult {
  /** Pending changes whose time had come. */
  due: number;
  /** Put back on the queue. */
  requeued: number;
  /** Waiting for their account to reconnect. */
  held: number;
  /** Records of a connection that no longer exists, deleted. */
  orphans: number;
}

/** Held changes are looked at again this long after (a reconnect requeues them anyway). */
const HELD_RECHECK_MS = 6 * 3600_000;

/**
 * Level-triggered healing: finds every booking change not yet in the calendar whose time has
 * come (the sparse `pending` index, never a table scan) and puts its latest event back on the
 * queue, in its account's group. Whatever was lost — a message that ran out of receives, a
 * crash between receive and write, a local queue that died with the process — is written once
 * the server is back. Held changes (connection `error`) wait for the reconnect; changes of a
 * connection that is gone are deleted, never replayed into another one.
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  const byAccount = new Map<string, BookingRecord[]>();
  for await (const record of deps.bookings.due(deps.now?.().getTime())) {
    byAccount.set(record.accountId, [...(byAccount.get(record.accountId) ?? []), record]);
  }
  const result: SweepResult = { due: 0, requeued: 0, held: 0, orphans: 0 };
  await mapLimit([...byAccount], 4, async ([accountId, records]) => {
    result.due += records.length;
    const connection = await deps.connections.get(accountId);
    const current = records.filter((r) => connection && r.generation === connection.generation);
    const orphans = records.filter((r) => !current.includes(r));
    await mapLimit(orphans, 8, (r) => deps.bookings.deleteIf(r));
    result.orphans += orphans.length;
    if (!current.length) return;
    if (connection!.status === 'error') {
      await mapLimit(current, 8, (r) => deps.bookings.postpone(r, HELD_RECHECK_MS));
      result.held += current.length;
      return;
    }
    // Postpone first: if sending fails, the next sweep after that tries again.
    await mapLimit(current, 8, (r) => deps.bookings.postpone(r, deps.sweepAfterMs));
    const events = current.map(latestEvent).filter((e): e is BookingEvent => e !== undefined);
    try {
      await deps.queue.send(events, 'sweeper');
      result.requeued += events.length;
    } catch (err) {
      deps.log.error('sweeper could not requeue booking changes', { accountId, bookings: events.length, error: (err as Error).message });
    }
  });
  if (result.due) deps.log.info('sweep', { ...result });
  return result;
}
