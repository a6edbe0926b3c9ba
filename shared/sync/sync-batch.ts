import { SYNC_DEFAULTS } from '../config.js';
import type { BookingEvent } from '../booking/booking-event.js';
import { limiter, mapLimit } from '../concurrency.js';
import { isPending, type BookingRecord, type BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';
import { syncAccountBookings, type AccountSyncDeps, type BookingOutcome, type DueBooking } from './account-sync.js';
import type { PasswordCache } from './password-cache.js';
import { newRecordWriter } from './new-records.js';
import { parseSyncMessage, type RedriveMessage } from './sync-message.js';

export interface QueueMessage {
  id: string;
  body: string;
  /** How often the queue has handed it out (SQS ApproximateReceiveCount); 1 when not given. */
  receiveCount?: number;
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
  /**
   * Record every change before its first calendar request, not only the changes of messages
   * that came back: for a queue that loses a message when its consumer dies (the local one).
   */
  recordFirst?: boolean;
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
  receiveCount: number;
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
      events.set(booking.id, [...(events.get(booking.id) ?? []), { id: msg.id, event: parsed.event, receiveCount: msg.receiveCount ?? 1 }]);
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
  // The records of bookings written for the first time go in together once those writes end.
  const newRecords = deps.recordFirst ? undefined : newRecordWriter(deps.bookings, writeSlots);
  const accountDeps: AccountDeps =
    opts.deadline === undefined
      ? { ...deps, writeSlots, newRecords }
      : { ...deps, writeSlots, newRecords, objects: deps.objects.withDeadline(opts.deadline), deadline: opts.deadline };
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
  // The connection and the records of the bookings named are read at once: across the batch's
  // accounts that is one BatchGetItem (the stores share a batched reader) before any write.
  const touched = [...new Set([...work.events.keys(), ...work.redrives.flatMap((r) => r.message.bookingIds)])];
  const [read, records] = await Promise.all([deps.connections.get(accountId), Promise.all(touched.map((id) => deps.bookings.get(accountId, id)))]);
  let connection = read;
  if (!connection) {
    deps.log.info('no Apple Calendar connected: messages skipped', { accountId, messages: [...work.events.values()].flat().length + work.redrives.length });
    return 'not_connected';
  }
  const outcomes = new Map<string, Outcome>();
  const generation = connection.generation;
  const due = await recordChanges(deps, connection, work, new Map(touched.map((id, i) => [id, records[i]])), outcomes);
  const unrecorded = due.filter((d) => d.unrecorded);
  if (!unrecorded.length) onRecorded();
  if (!due.length) return outcomes;
  try {
    return await writeChanges(deps, connection, due, outcomes);
  } catch (err) {
    // Whatever failed, no change is left only in its message once that is acknowledged.
    await mapLimit(unrecorded, deps.concurrency ?? SYNC_DEFAULTS.bookingConcurrency, (d) => deps.bookings.advance(d.unrecorded!.event, generation));
    onRecorded();
    throw err;
  }
}

async function writeChanges(deps: AccountDeps, read: Connection, due: DueBooking[], outcomes: Map<string, Outcome>): Promise<AccountOutcome> {
  const { accountId, generation } = read;
  let connection: Connection | undefined = read;
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
      // Held changes are recorded by now (whatever was not written is).
      const held = due.filter((d) => written.get(d.bookingId)?.kind === 'held').map(({ bookingId, record }) => ({ bookingId, record }));
      deps.log.info('credentials replaced while syncing: trying again with the current ones', { accountId, bookings: held.length });
      written = new Map([...written, ...(await syncWith(deps, latest, held))]);
    }
  }
  for (const [bookingId, outcome] of written) outcomes.set(bookingId, outcome);
  return outcomes;
}

/**
 * Works out what each booking event asks for, from the records as just read, and returns the
 * bookings whose change is due for this connection. What is not due afterwards (duplicates,
 * stale messages, changes already written) needs nothing more; a change of an earlier
 * connection (an advance that raced a disconnect, a re-drive queued before one) is never
 * written with this one (the sweeper deletes it).
 *
 * A new change is normally written first and recorded once, with its outcome (one table
 * write per booking). It is recorded before any calendar request instead when something went
 * wrong already: the credentials were rejected (held changes wait on their records for the
 * reconnect), or its message came back (an invocation holding it died: recorded now, its
 * change survives another such end, even past the queue's receive limit) — or the queue
 * itself may lose a message whose consumer dies (`recordFirst`: the local stack's).
 */
async function recordChanges(deps: AccountDeps, connection: Connection, work: AccountWork, records: Map<string, BookingRecord | undefined>, outcomes: Map<string, Outcome>) {
  const { accountId, generation } = connection;
  const redriven = new Set(work.redrives.filter((r) => r.message.generation === generation).flatMap((r) => r.message.bookingIds));
  const touched = new Set([...work.events.keys(), ...redriven]);
  const due: DueBooking[] = [];
  await mapLimit([...touched], deps.concurrency ?? SYNC_DEFAULTS.bookingConcurrency, async (bookingId) => {
    const read = records.get(bookingId);
    const pending = [...(work.events.get(bookingId) ?? [])].sort((a, b) => a.event.booking.sequence - b.event.booking.sequence);
    const latest = pending.at(-1);
    let record = read;
    let unrecorded: DueBooking['unrecorded'];
    if (latest && !deps.recordFirst && connection.status !== 'error' && pending.every((p) => p.receiveCount <= 1)) {
      const advanced = deps.bookings.advanced(read, latest.event, generation);
      if (advanced) [record, unrecorded] = [advanced, { event: latest.event, readSeq: read?.seq }];
    } else {
      for (const p of pending) record = (await deps.bookings.advance(p.event, generation)) ?? record;
    }
    if (record && isPending(record) && record.generation !== generation) {
      deps.log.info('booking change of an earlier connection dropped', { accountId, bookingId });
      outcomes.set(bookingId, { kind: 'skipped' });
    } else if (record && isPending(record)) due.push({ bookingId, record, ...(unrecorded ? { unrecorded } : {}) });
    else outcomes.set(bookingId, { kind: 'skipped' });
  });
  return due;
}

async function syncWith(deps: AccountDeps, connection: Connection, due: DueBooking[]) {
  const password = await deps.passwords.get(connection.accountId, connection.ciphertext);
  return syncAccountBookings(deps, connection, { username: connection.appleId, password }, due);
}

function toMessageResult(outcome: Outcome | undefined): Result {
  if (!outcome) return { kind: 'skipped' };
  if (outcome.kind === 'retry') {
    const { unrecorded, ...rest } = outcome;
    return { ...rest, recorded: !unrecorded };
  }
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
