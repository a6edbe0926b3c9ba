import type { BookingEvent } from '../booking-event.js';
import type { DavCredentials } from '../caldav/transport.js';
import type { BookingRecord, BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';
import { syncAccountBookings, type AccountSyncDeps } from './account-sync.js';

export interface ReplayDeps extends AccountSyncDeps {
  bookings: BookingStore;
  /**
   * Puts booking events back on the booking-events queue, where the sync worker applies them
   * with its retries and backoff. Rejects if any could not be sent.
   */
  requeue: (events: BookingEvent[]) => Promise<void>;
}

export interface ReplayResult {
  pending: number;
  replayed: number;
  requeued: number;
}

/**
 * After a (re)connect: writes the booking changes held while the previous password was
 * rejected, with the password just verified, for at most `budgetMs` (connect answers a
 * person who is waiting). What is left — not started in time, or a transient failure — goes
 * back on the queue as the booking's latest event, so it is retried like any other change
 * instead of waiting for the next reconnect. Nothing is lost either way: the records stay
 * pending until written.
 */
export async function replayHeld(deps: ReplayDeps, connection: Connection, credentials: DavCredentials, budgetMs: number): Promise<ReplayResult> {
  const { accountId } = connection;
  const pending = await deps.bookings.pending(accountId);
  if (!pending.length) return { pending: 0, replayed: 0, requeued: 0 };
  const startBy = (deps.now?.() ?? new Date()).getTime() + budgetMs;
  const outcomes = await syncAccountBookings(deps, connection, credentials, pending.map((record) => ({ bookingId: record.bookingId, record })), { startBy });

  const replayed = pending.filter((r) => outcomes.get(r.bookingId)?.result === 'ok').length;
  const left = pending.filter((r) => outcomes.get(r.bookingId)?.result === 'retry');
  let requeued = 0;
  if (left.length) {
    try {
      await deps.requeue(left.map(latestEvent).filter((e): e is BookingEvent => e !== undefined));
      requeued = left.length;
    } catch (err) {
      deps.log.error('could not requeue held booking changes; they stay pending until the next reconnect', { accountId, bookings: left.length, error: (err as Error).message });
    }
  }
  deps.log.info('held booking changes replayed after reconnect', { accountId, pending: pending.length, replayed, requeued });
  return { pending: pending.length, replayed, requeued };
}

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
