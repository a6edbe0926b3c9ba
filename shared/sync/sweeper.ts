import type { BookingQueue } from '../booking/booking-queue.js';
import { mapLimit } from '../concurrency.js';
import type { Log } from '../logger.js';
import type { BookingStore, DueRecord } from '../store/bookings.js';
import type { ConnectionStore } from '../store/connections.js';
import { redriveMessages } from './sync-message.js';

export interface SweepDeps {
  bookings: BookingStore;
  connections: ConnectionStore;
  queue: Pick<BookingQueue, 'send'>;
  log: Log;
  /** A re-driven change is looked at again after this long if it is still not written. */
  sweepAfterMs: number;
  /** Due records read per index page (the sweeper holds one page at a time). */
  pageSize?: number;
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
 * Level-triggered healing and the retry schedule: finds every booking change not yet in the
 * calendar whose time has come (the sparse `pending` index, never a table scan; one page at a
 * time, keys only) and re-drives it in its account's group (a `connector.redrive` message with
 * the connection's generation). That is how a booking whose write failed is tried again when
 * its backoff is over — without holding its account's other bookings back — and how whatever
 * was lost (a message out of receives, a crash between receive and write, a local queue that
 * died with the process) is written once the server is back. Held changes (connection `error`)
 * wait for the reconnect; changes of a connection that is gone are deleted, never replayed
 * into another one.
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  const result: SweepResult = { due: 0, requeued: 0, held: 0, orphans: 0 };
  for await (const page of deps.bookings.duePages(deps.now?.().getTime(), deps.pageSize)) {
    const byAccount = new Map<string, DueRecord[]>();
    for (const r of page) byAccount.set(r.accountId, [...(byAccount.get(r.accountId) ?? []), r]);
    await mapLimit([...byAccount], 4, (entry) => sweepAccount(deps, entry, result));
  }
  if (result.due) deps.log.info('sweep', { ...result });
  return result;
}

async function sweepAccount(deps: SweepDeps, [accountId, records]: [string, DueRecord[]], result: SweepResult): Promise<void> {
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
  try {
    await deps.queue.send(redriveMessages(accountId, connection!.generation, current.map((r) => r.bookingId)), 'sweeper');
    result.requeued += current.length;
  } catch (err) {
    deps.log.error('sweeper could not requeue booking changes', { accountId, bookings: current.length, error: (err as Error).message });
  }
}
