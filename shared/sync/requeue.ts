import type { BookingEvent } from '../booking/booking-event.js';
import type { BookingQueue } from '../booking/booking-queue.js';
import type { Log } from '../logger.js';
import { mapLimit } from '../concurrency.js';
import type { BookingRecord, BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';

/**
 * The booking event that brings a calendar to a record's desired state. Its sequence is the
 * record's own, so the worker sees a duplicate, finds the record still pending and writes it;
 * if a newer change arrived meanwhile, the newer state is written instead.
 */
export function latestEvent(record: BookingRecord): BookingEvent | undefined {
  const envelope = { userId: record.accountId, occurredAt: record.updatedAt };
  if (record.desired === 'cancelled') return { type: 'booking.cancelled', ...envelope, booking: { id: record.bookingId, sequence: record.seq } };
  return record.booking && { type: 'booking.updated', ...envelope, booking: record.booking };
}

export interface RequeueDeps {
  bookings: BookingStore;
  queue: Pick<BookingQueue, 'send'>;
  log: Log;
}

/**
 * After a (re)connect: every change of this connection not yet in the calendar — held while
 * the password was rejected, waiting for a retry, or refused by the server — goes back on the
 * queue in the account's group, where the one sync writer of the account applies it within
 * seconds. Connect itself writes nothing to the calendar. If sending fails the changes stay
 * due, and the sweeper re-drives them.
 */
export async function requeueUnsettled(deps: RequeueDeps, connection: Connection): Promise<{ pendingChanges: number }> {
  const records = (await deps.bookings.unsettled(connection.accountId)).filter((r) => r.generation === connection.generation);
  // Reopened, every one of them is pending now (sent or not): the details' count, without another read.
  const result = { pendingChanges: records.length };
  if (!records.length) return result;
  await mapLimit(records, 8, (r) => deps.bookings.reopen(r));
  const events = records.map(latestEvent).filter((e): e is BookingEvent => e !== undefined);
  try {
    await deps.queue.send(events, 'reconnect');
  } catch (err) {
    deps.log.error('could not requeue booking changes after reconnect; the sweeper will', { accountId: connection.accountId, bookings: events.length, error: (err as Error).message });
    return result;
  }
  deps.log.info('booking changes requeued after reconnect', { accountId: connection.accountId, bookings: events.length });
  return result;
}
