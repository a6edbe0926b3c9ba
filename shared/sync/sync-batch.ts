import { SYNC_DEFAULTS } from '../config.js';
import type { BookingEvent } from '../booking/booking-event.js';
import { limiter, mapLimit } from '../concurrency.js';
import { isPending, type BookingRecord, type BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';
import { syncAccountBookings, type AccountSyncDeps, type BookingOutcome } from './account-sync.js';
import type { PasswordCache } from './password-cache.js';
import { parseSyncMessage, type RedriveMessage } from './sync-message.js';

export interface QueueMessage {
  id: string;
  body: string;
}

/**
 * What became of one message. Only `retry` and `invalid` keep the message: `retry` comes back
 * after `retryAfterSeconds` (the account is throttled: the message holds the account's group,
 * that is the pause; or nothing could be recorded); `scheduled` is a change recorded as due
 * later on its booking record (the sweeper re-drives it), so the message is acknowledged;
 * `held` says whether a 401 was seen just now (vs. the connection already `error`).
 */
export type MessageResult =
  | { id: string; kind: 'ok' | 'skipped' }
  | { id: string; kind: 'held'; rejected: boolean }
  | { id: string; kind: 'failed'; error: string }
  | { id: string; kind: 'invalid'; reason: string }
  | { id: string; kind: 'scheduled'; error: string }
  | { id: string; kind: 'retry'; retryAfterSeconds?: number; error: string; recorded: boolean }
  /** A host-change check message: never retried (the next interval brings the next check). */
  | { id: string; kind: 'checked'; failed: boolean; reported: number; requests: number; repeat?: true };

export interface BatchDeps extends Omit<AccountSyncDeps, 'deadline'> {
  bookings: BookingStore;
  passwords: PasswordCache;
  /** Accounts synced at once within a batch. */
  accountConcurrency?: number;
  /** Checks the account for host changes (a check message; see host-changes/run-check.ts). */
  hostCheck?: (accountId: string) => Promise<{ failed: boolean; reported: number; requests: number }>;
}

export interface BatchOptions {
  /** No calendar request runs past this (epoch ms); what is not written by then is due at the next sweep. */
  deadline?: number;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Result = WithoutId<MessageResult>;

interface Pending {
  id: string;
  event: BookingEvent;
}

/** One account's share of a batch, by message type. */
interface AccountWork {
  /** Booking events (contract §2), by booking. */
  events: Map<string, Pending[]>;
  /** The connector's re-drives (sweeper, reconnect): write what these bookings' records hold. */
  redrives: Array<{ id: string; message: RedriveMessage }>;
  /** Host-change check messages (ids): one check, after the account's writes of this batch. */
  checks: string[];
}

/**
 * Makes the calendars match a batch of queue messages. Each valid booking event moves its
 * booking's desired state forward (stale and duplicate ones change nothing); a re-drive names
 * bookings whose recorded changes are due; then each touched booking is reconciled once.
 * Different accounts run concurrently; within an account different bookings do, changes of
 * the same booking never. Every message gets a result; nothing in the batch blocks the rest.
 */
export async function syncBatch(deps: BatchDeps, messages: QueueMessage[], opts: BatchOptions = {}): Promise<MessageResult[]> {
  const results = new Map<string, MessageResult>();
  const accounts = new Map<string, AccountWork>();
  const workOf = (accountId: string) => {
    let work = accounts.get(accountId);
    if (!work) accounts.set(accountId, (work = { events: new Map(), redrives: [], checks: [] }));
    return work;
  };
  for (const msg of messages) {
    const parsed = parseSyncMessage(msg.body);
    if (!parsed.ok) {
      results.set(msg.id, { id: msg.id, kind: 'invalid', reason: parsed.reason });
    } else if (parsed.kind === 'booking') {
      const { userId, booking } = parsed.event;
      if (parsed.dropped) deps.log.warn('booking event: attendees dropped', { messageId: msg.id, accountId: userId, bookingId: booking.id, reasons: parsed.dropped });
      const events = workOf(userId).events;
      events.set(booking.id, [...(events.get(booking.id) ?? []), { id: msg.id, event: parsed.event }]);
    } else {
      switch (parsed.message.type) {
        case 'connector.redrive':
          workOf(parsed.message.userId).redrives.push({ id: msg.id, message: parsed.message });
          break;
        case 'connector.host-changes.check':
          workOf(parsed.message.userId).checks.push(msg.id);
          break;
      }
    }
  }

  // One gate for the calendar writes of the whole batch: accounts overlap their DynamoDB calls
  // with each other's writes, and the calendar servers see no more than before.
  const writeSlots = deps.writeSlots ?? limiter(SYNC_DEFAULTS.writeConcurrency);
  const accountDeps: AccountDeps =
    opts.deadline === undefined ? { ...deps, writeSlots } : { ...deps, writeSlots, objects: deps.objects.withDeadline(opts.deadline), deadline: opts.deadline };
  await mapLimit([...accounts], deps.accountConcurrency ?? SYNC_DEFAULTS.accountConcurrency, async ([accountId, work]) => {
    const set = (id: string, r: Result) => results.set(id, { ...r, id } as MessageResult);
    let recorded = false;
    try {
      if (!work.events.size && !work.redrives.length) return;
      const outcome = await syncAccount(accountDeps, accountId, work, () => (recorded = true));
      for (const [bookingId, pending] of work.events) for (const p of pending) set(p.id, outcome === 'not_connected' ? { kind: 'skipped' } : toMessageResult(outcome.get(bookingId)));
      for (const r of work.redrives) set(r.id, outcome === 'not_connected' ? { kind: 'skipped' } : redriveResult(r.message, outcome));
    } catch (err) {
      deps.log.warn('account sync failed: its changes will be retried', { accountId, errorName: (err as Error).name, error: (err as Error).message });
      // Recorded changes are due for the sweeper: acknowledged. Re-drives always are (their records are due).
      for (const p of [...work.events.values()].flat()) if (!results.has(p.id)) set(p.id, recorded ? { kind: 'scheduled', error: 'internal_error' } : { kind: 'retry', error: 'internal_error', recorded: false });
      for (const r of work.redrives) if (!results.has(r.id)) set(r.id, { kind: 'scheduled', error: 'internal_error' });
    } finally {
      if (work.checks.length) await checkHostChanges(deps, accountId, work.checks, set, opts.deadline);
    }
  });

  return messages.map((m) => results.get(m.id) ?? { id: m.id, kind: 'retry', error: 'internal_error', recorded: false });
}

/**
 * After the account's writes of this batch, on the same (its only) writer: one host-change
 * check, whatever the number of check messages. A check that fails is not retried: the next
 * interval's check comes soon enough.
 */
async function checkHostChanges(deps: BatchDeps, accountId: string, ids: string[], set: (id: string, r: Result) => void, deadline?: number) {
  let outcome = { failed: true, reported: 0, requests: 0 };
  // Too little of the invocation left for a few requests: this interval's check is skipped.
  const outOfTime = deadline !== undefined && deadline - Date.now() < 2 * deps.caldav.timeoutMs;
  if (outOfTime) deps.log.info('host-change check skipped: the invocation is out of time', { accountId });
  else if (deps.hostCheck) {
    try {
      outcome = await deps.hostCheck(accountId);
    } catch (err) {
      deps.log.warn('host-change check failed', { accountId, errorName: (err as Error).name, error: (err as Error).message });
    }
  }
  ids.forEach((id, i) => set(id, { kind: 'checked', ...(i === 0 ? outcome : { failed: false, reported: 0, requests: 0, repeat: true }) }));
}

type AccountDeps = BatchDeps & Pick<AccountSyncDeps, 'deadline'>;
type Outcome = BookingOutcome | { kind: 'skipped' };
type AccountOutcome = 'not_connected' | Map<string, Outcome>;

async function syncAccount(deps: AccountDeps, accountId: string, work: AccountWork, onRecorded: () => void): Promise<AccountOutcome> {
  let connection = await deps.connections.get(accountId);
  if (!connection) {
    deps.log.info('no Apple Calendar connected: messages skipped', { accountId, messages: [...work.events.values()].flat().length + work.redrives.length });
    return 'not_connected';
  }
  const outcomes = new Map<string, Outcome>();
  const generation = connection.generation;
  const due = await recordChanges(deps, accountId, generation, work, outcomes);
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

/**
 * Records what each booking event asks for before any calendar request, and reads the records
 * the re-drives name; returns the bookings whose change is pending for this connection. What
 * is not pending afterwards (duplicates, stale messages, changes already written) needs nothing
 * more; a change of an earlier connection (an advance that raced a disconnect, a re-drive
 * queued before one) is never written with this one (the sweeper deletes it).
 */
async function recordChanges(deps: AccountDeps, accountId: string, generation: string, work: AccountWork, outcomes: Map<string, Outcome>) {
  const redriven = new Set(work.redrives.filter((r) => r.message.generation === generation).flatMap((r) => r.message.bookingIds));
  const touched = new Set([...work.events.keys(), ...redriven]);
  const due: Array<{ bookingId: string; record: BookingRecord }> = [];
  await mapLimit([...touched], deps.concurrency ?? SYNC_DEFAULTS.bookingConcurrency, async (bookingId) => {
    let record: BookingRecord | undefined;
    const pending = work.events.get(bookingId) ?? [];
    for (const p of [...pending].sort((a, b) => a.event.booking.sequence - b.event.booking.sequence)) record = (await deps.bookings.advance(p.event, generation)) ?? record;
    record ??= await deps.bookings.get(accountId, bookingId);
    if (record && isPending(record) && record.generation !== generation) {
      deps.log.info('booking change of an earlier connection dropped', { accountId, bookingId });
      outcomes.set(bookingId, { kind: 'skipped' });
    } else if (record && isPending(record)) due.push({ bookingId, record });
    else outcomes.set(bookingId, { kind: 'skipped' });
  });
  return due;
}

async function syncWith(deps: AccountDeps, connection: Connection, due: Array<{ bookingId: string; record: BookingRecord }>) {
  const password = await deps.passwords.get(connection.accountId, connection.ciphertext);
  return syncAccountBookings(deps, connection, { username: connection.appleId, password }, due);
}

function toMessageResult(outcome: Outcome | undefined): Result {
  if (!outcome) return { kind: 'skipped' };
  if (outcome.kind === 'retry') return { ...outcome, recorded: true };
  if (outcome.kind === 'scheduled') return { kind: 'scheduled', error: outcome.error };
  return outcome;
}

/**
 * A re-drive is acknowledged whatever became of its bookings (each outcome is on its record) —
 * unless the account is throttled: then it comes back after the backoff, holding the group.
 */
function redriveResult(message: RedriveMessage, outcomes: Map<string, Outcome>): Result {
  const of = message.bookingIds.map((id) => outcomes.get(id));
  const throttled = of.find((o): o is Extract<BookingOutcome, { kind: 'retry' }> => o?.kind === 'retry');
  if (throttled) return { ...throttled, recorded: true };
  if (of.some((o) => o?.kind === 'ok')) return { kind: 'ok' };
  return { kind: 'skipped' };
}
