import { SYNC_DEFAULTS } from '../config.js';
import { parseBookingEvent, type BookingEvent } from '../booking/booking-event.js';
import { parseCheckMessage } from '../host-changes/check-message.js';
import { mapLimit } from '../concurrency.js';
import { isPending, type BookingRecord, type BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';
import { syncAccountBookings, type AccountSyncDeps, type BookingOutcome } from './account-sync.js';
import type { PasswordCache } from './password-cache.js';

export interface QueueMessage {
  id: string;
  body: string;
}

/**
 * What became of one message. `retry` carries the delay before it should come back and
 * whether its change is recorded (then the sweeper would re-drive it even if the message
 * were dropped); `held` whether a 401 was seen just now (vs. the connection already `error`).
 */
export type MessageResult =
  | { id: string; kind: 'ok' | 'skipped' }
  | { id: string; kind: 'held'; rejected: boolean }
  | { id: string; kind: 'failed'; error: string }
  | { id: string; kind: 'invalid'; reason: string }
  | { id: string; kind: 'retry'; retryAfterSeconds?: number; error: string; recorded: boolean }
  /** A host-change check message: never retried (the next interval brings the next check). */
  | { id: string; kind: 'checked'; failed: boolean; reported: number; requests: number; repeat?: true };

export interface BatchDeps extends AccountSyncDeps {
  bookings: BookingStore;
  passwords: PasswordCache;
  /** Accounts synced at once within a batch. */
  accountConcurrency?: number;
  /** Checks the account for host changes (a check message; see host-changes/run-check.ts). */
  hostCheck?: (accountId: string) => Promise<{ failed: boolean; reported: number; requests: number }>;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Pending {
  id: string;
  event: BookingEvent;
}

/**
 * Makes the calendars match a batch of booking events. Each valid message moves its
 * booking's desired state forward (stale and duplicate ones change nothing); then each
 * touched booking is reconciled once. Different accounts run concurrently; within an account
 * different bookings do, changes of the same booking never. Every message gets a result;
 * nothing in the batch blocks the rest.
 */
export async function syncBatch(deps: BatchDeps, messages: QueueMessage[]): Promise<MessageResult[]> {
  const results = new Map<string, MessageResult>();
  const accounts = new Map<string, Map<string, Pending[]>>();
  const checks = new Map<string, string[]>();
  for (const msg of messages) {
    const checkFor = parseCheckMessage(msg.body);
    if (checkFor !== undefined) {
      checks.set(checkFor, [...(checks.get(checkFor) ?? []), msg.id]);
      continue;
    }
    const parsed = parseBookingEvent(msg.body);
    if (!parsed.ok) {
      results.set(msg.id, { id: msg.id, kind: 'invalid', reason: parsed.reason });
      continue;
    }
    const { userId, booking } = parsed.event;
    if (parsed.dropped) deps.log.warn('booking event: attendees dropped', { messageId: msg.id, accountId: userId, bookingId: booking.id, reasons: parsed.dropped });
    const byBooking = accounts.get(userId) ?? new Map<string, Pending[]>();
    accounts.set(userId, byBooking);
    byBooking.set(booking.id, [...(byBooking.get(booking.id) ?? []), { id: msg.id, event: parsed.event }]);
  }

  const accountIds = [...new Set([...accounts.keys(), ...checks.keys()])];
  await mapLimit(accountIds, deps.accountConcurrency ?? SYNC_DEFAULTS.accountConcurrency, async (accountId) => {
    const byBooking = accounts.get(accountId);
    if (byBooking) await syncAccountMessages(deps, accountId, byBooking, results);
    // After the account's writes of this batch, on the same (its only) writer. A check that
    // fails is not retried: the next interval's check comes soon enough.
    const checkIds = checks.get(accountId);
    if (!checkIds) return;
    let outcome = { failed: true, reported: 0, requests: 0 };
    if (deps.hostCheck) {
      try {
        outcome = await deps.hostCheck(accountId);
      } catch (err) {
        deps.log.warn('host-change check failed', { accountId, errorName: (err as Error).name, error: (err as Error).message });
      }
    }
    // One check per account and batch; repeated check messages of it are the same check.
    checkIds.forEach((id, i) => results.set(id, { id, kind: 'checked', ...(i === 0 ? outcome : { failed: false, reported: 0, requests: 0, repeat: true }) }));
  });

  return messages.map((m) => results.get(m.id) ?? { id: m.id, kind: 'retry', error: 'internal_error', recorded: false });
}

async function syncAccountMessages(deps: BatchDeps, accountId: string, byBooking: Map<string, Pending[]>, results: Map<string, MessageResult>) {
  {
    const setResult = (pending: Pending[], r: WithoutId<MessageResult>) => pending.forEach((p) => results.set(p.id, { ...r, id: p.id } as MessageResult));
    const all = [...byBooking.values()].flat();
    let recorded = false;
    try {
      const outcome = await syncAccount(deps, accountId, byBooking, () => (recorded = true));
      if (outcome === 'not_connected') return setResult(all, { kind: 'skipped' });
      for (const [bookingId, result] of outcome) setResult(byBooking.get(bookingId)!, toMessageResult(result));
    } catch (err) {
      deps.log.warn('account sync failed: messages will be retried', { accountId, errorName: (err as Error).name, error: (err as Error).message });
      for (const pending of byBooking.values()) if (!pending.every((p) => results.has(p.id))) setResult(pending, { kind: 'retry', error: 'internal_error', recorded });
    }
  }
}

type AccountOutcome = 'not_connected' | Map<string, BookingOutcome | { kind: 'skipped' }>;

async function syncAccount(deps: BatchDeps, accountId: string, byBooking: Map<string, Pending[]>, onRecorded: () => void): Promise<AccountOutcome> {
  let connection = await deps.connections.get(accountId);
  if (!connection) {
    deps.log.info('no Apple Calendar connected: booking events skipped', { accountId, messages: [...byBooking.values()].flat().length });
    return 'not_connected';
  }
  const outcomes = new Map<string, BookingOutcome | { kind: 'skipped' }>();
  // Record what each message asks for before any calendar request; what is not pending
  // afterwards (duplicates, stale messages, changes already written) needs nothing more.
  const due: Array<{ bookingId: string; record: BookingRecord }> = [];
  const generation = connection.generation;
  await mapLimit([...byBooking], deps.concurrency ?? SYNC_DEFAULTS.bookingConcurrency, async ([bookingId, pending]) => {
    let record: BookingRecord | undefined;
    for (const p of [...pending].sort((a, b) => a.event.booking.sequence - b.event.booking.sequence)) record = (await deps.bookings.advance(p.event, generation)) ?? record;
    record ??= await deps.bookings.get(accountId, bookingId);
    if (record && isPending(record) && record.generation !== generation) {
      // Recorded for a connection that is gone (an advance that raced a disconnect): never
      // written with this one (the sweeper deletes it). A newer change starts it afresh.
      deps.log.info('booking change of an earlier connection dropped', { accountId, bookingId });
      outcomes.set(bookingId, { kind: 'skipped' });
    } else if (record && isPending(record)) due.push({ bookingId, record });
    else outcomes.set(bookingId, { kind: 'skipped' });
  });
  onRecorded();
  if (!due.length) return outcomes;

  // The connection as it is now, not as it was before the changes were recorded: a reconnect
  // in between requeues the held changes only if it saw them recorded, so look again.
  if (connection.status === 'error') connection = await deps.connections.get(accountId);
  if (!connection || connection.generation !== generation) return 'not_connected';
  if (connection.status === 'error') {
    deps.log.info('credentials rejected earlier: booking changes held until reconnect', { accountId, bookings: due.length });
    for (const d of due) outcomes.set(d.bookingId, { kind: 'held', error: 'credentials_rejected', rejected: false });
    return outcomes;
  }

  let written = await syncWith(deps, connection, due);
  if ([...written.values()].some((o) => o.kind === 'held' && o.rejected)) {
    // Rejected: if the account reconnected with a new password meanwhile, that one is current.
    deps.passwords.forget(accountId);
    const latest = await deps.connections.get(accountId);
    if (latest && latest.generation === generation && latest.status === 'active' && latest.ciphertext !== connection.ciphertext) {
      const held = due.filter((d) => written.get(d.bookingId)?.kind === 'held');
      deps.log.info('credentials replaced while syncing: trying again with the current ones', { accountId, bookings: held.length });
      written = new Map([...written, ...(await syncWith(deps, latest, held))]);
    }
  }
  for (const [bookingId, outcome] of written) outcomes.set(bookingId, outcome);
  return outcomes;
}

async function syncWith(deps: BatchDeps, connection: Connection, due: Array<{ bookingId: string; record: BookingRecord }>) {
  const password = await deps.passwords.get(connection.accountId, connection.ciphertext);
  return syncAccountBookings(deps, connection, { username: connection.appleId, password }, due);
}

function toMessageResult(outcome: BookingOutcome | { kind: 'skipped' }): WithoutId<MessageResult> {
  if (outcome.kind === 'retry') return { ...outcome, recorded: true };
  return outcome;
}
