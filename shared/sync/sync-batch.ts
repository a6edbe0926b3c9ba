import { parseBookingEvent, type BookingEvent } from '../booking-event.js';
import { mapLimit } from '../concurrency.js';
import { isPending, type BookingRecord, type BookingStore } from '../store/bookings.js';
import { syncAccountBookings, type AccountSyncDeps } from './account-sync.js';
import type { PasswordCache } from './password-cache.js';

export interface QueueMessage {
  id: string;
  body: string;
}

export type MessageResult =
  | { id: string; result: 'ok' | 'skipped' | 'held' }
  | { id: string; result: 'failed'; error: string }
  | { id: string; result: 'invalid'; reason: string }
  | { id: string; result: 'retry'; retryAfterSeconds?: number; error: string };

export interface BatchDeps extends AccountSyncDeps {
  bookings: BookingStore;
  passwords: PasswordCache;
  /** Accounts synced at once within a batch. */
  accountConcurrency?: number;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Pending {
  id: string;
  event: BookingEvent;
}

/**
 * Makes the calendars match a batch of booking events. Each valid message moves its
 * booking's desired state forward (stale and duplicate ones change nothing); then each
 * touched booking is reconciled once. Different bookings run concurrently, changes of the
 * same booking never do. Every message gets a result; nothing in the batch blocks the rest.
 */
export async function syncBatch(deps: BatchDeps, messages: QueueMessage[]): Promise<MessageResult[]> {
  const results = new Map<string, MessageResult>();
  const accounts = new Map<string, Map<string, Pending[]>>();
  for (const msg of messages) {
    const parsed = parseBookingEvent(msg.body);
    if (!parsed.ok) {
      results.set(msg.id, { id: msg.id, result: 'invalid', reason: parsed.reason });
      continue;
    }
    const { userId, booking } = parsed.event;
    if (parsed.dropped) deps.log.warn('booking event: attendees dropped', { messageId: msg.id, accountId: userId, bookingId: booking.id, reasons: parsed.dropped });
    const byBooking = accounts.get(userId) ?? new Map<string, Pending[]>();
    accounts.set(userId, byBooking);
    byBooking.set(booking.id, [...(byBooking.get(booking.id) ?? []), { id: msg.id, event: parsed.event }]);
  }

  await mapLimit([...accounts], deps.accountConcurrency ?? 4, async ([accountId, byBooking]) => {
    const all = [...byBooking.values()].flat();
    const settle = (pending: Pending[], r: WithoutId<MessageResult>) => pending.forEach((p) => results.set(p.id, { ...r, id: p.id } as MessageResult));
    try {
      const connection = await deps.connections.get(accountId);
      if (!connection) {
        deps.log.info('no Apple Calendar connected: booking events skipped', { accountId, messages: all.length });
        return settle(all, { result: 'skipped' });
      }
      // Move each booking's desired state forward; what is not pending afterwards (duplicates,
      // stale messages, changes already written) needs nothing more: no decrypt, no request.
      const due: Array<{ bookingId: string; record: BookingRecord }> = [];
      await mapLimit([...byBooking], deps.concurrency ?? 4, async ([bookingId, pending]) => {
        let record: BookingRecord | undefined;
        for (const p of [...pending].sort((a, b) => a.event.booking.sequence - b.event.booking.sequence)) record = (await deps.bookings.advance(p.event)) ?? record;
        record ??= await deps.bookings.get(accountId, bookingId);
        if (record && isPending(record)) due.push({ bookingId, record });
        else settle(pending, { result: 'skipped' });
      });
      if (!due.length) return;
      if (connection.status === 'error') {
        deps.log.info('credentials rejected earlier: booking changes held until reconnect', { accountId, bookings: due.length });
        return due.forEach((d) => settle(byBooking.get(d.bookingId)!, { result: 'held' }));
      }
      const password = await deps.passwords.get(accountId, connection.ciphertext);
      const outcomes = await syncAccountBookings(deps, connection, { username: connection.appleId, password }, due);
      for (const [bookingId, outcome] of outcomes) {
        if (outcome.result === 'held') deps.passwords.forget(accountId);
        settle(byBooking.get(bookingId)!, outcome);
      }
    } catch (err) {
      deps.log.warn('account sync failed: messages will be retried', { accountId, errorName: (err as Error).name, error: (err as Error).message });
      settle(all, { result: 'retry', error: 'internal_error' });
    }
  });

  return messages.map((m) => results.get(m.id) ?? { id: m.id, result: 'retry', error: 'internal_error' });
}
