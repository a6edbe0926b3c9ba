import type { BookingQueue } from '../booking/booking-queue.js';
import type { Log } from '../logger.js';
import { mapLimit } from '../concurrency.js';
import type { BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';
import { redriveMessages } from './sync-message.js';

export interface RequeueDeps {
  bookings: BookingStore;
  queue: Pick<BookingQueue, 'send'>;
  log: Log;
}

/**
 * After a (re)connect: every change of this connection not yet in the calendar — held while
 * the password was rejected, waiting for a retry, or refused by the server — is re-driven in
 * the account's group (a `connector.redrive` message naming the bookings and the connection's
 * generation), where the one sync writer of the account applies it within seconds. Connect
 * itself writes nothing to the calendar. If sending fails the changes stay due, and the
 * sweeper re-drives them.
 */
export async function requeueUnsettled(deps: RequeueDeps, connection: Connection): Promise<{ pendingChanges: number }> {
  // (Events the host changed are in the index too, written: nothing to reopen there.)
  const records = (await deps.bookings.unsettled(connection.accountId)).filter((r) => r.generation === connection.generation && (r.appliedSeq === undefined || r.appliedSeq < r.seq));
  if (!records.length) return { pendingChanges: 0 };
  // A change written meanwhile is not reopened; every other one is pending now (sent or not):
  // the details' count, without another read.
  const opened = await mapLimit(records, 8, (r) => deps.bookings.reopen(r));
  const bookingIds = records.filter((_, i) => opened[i]).map((r) => r.bookingId);
  if (!bookingIds.length) return { pendingChanges: 0 };
  try {
    await deps.queue.send(redriveMessages(connection.accountId, connection.generation, bookingIds), 'reconnect');
  } catch (err) {
    deps.log.error('could not requeue booking changes after reconnect; the sweeper will', { accountId: connection.accountId, bookings: bookingIds.length, error: (err as Error).message });
    return { pendingChanges: bookingIds.length };
  }
  deps.log.info('booking changes requeued after reconnect', { accountId: connection.accountId, bookings: bookingIds.length });
  return { pendingChanges: bookingIds.length };
}
