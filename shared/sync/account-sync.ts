import { SYNC_DEFAULTS } from '../config.js';
import type { AllowedHosts } from '../caldav/trusted-hosts.js';
import { mergeListing } from '../busy/calendars.js';
import { discoverCalendar, NoCalendarError } from '../caldav/discovery.js';
import { CaldavError, type DavCredentials } from '../caldav/transport.js';
import { mapLimit } from '../concurrency.js';
import type { Log } from '../logger.js';
import type { BookingRecord } from '../store/bookings.js';
import type { Connection, ConnectionStore, LastSync } from '../store/connections.js';
import { destinationOf } from '../connection/destination.js';
import { retryDelaySeconds } from './backoff.js';
import { AccountHalted, reconcileBooking, type CalendarTarget, type ReconcileDeps, type Unrecorded } from './reconcile.js';

export interface AccountSyncDeps extends ReconcileDeps {
  connections: ConnectionStore;
  caldav: { serverUrl: string; timeoutMs: number; allowedHosts: AllowedHosts; fetch?: typeof fetch };
  log: Log;
  /** First retry backoff step, in seconds. */
  retryBaseSeconds: number;
  /** Bookings of one account written at once. */
  concurrency?: number;
  /**
   * No calendar request starts after this (epoch ms) and running ones are cut off there; a
   * change not written by then is recorded as due now (the sweeper re-drives it).
   */
  deadline?: number;
  now?: () => Date;
  random?: () => number;
}

/**
 * A booking whose change is due. `unrecorded`: the change is not recorded yet (`record` is the
 * record as recording it would leave it); it is written first and recorded with its outcome.
 */
export interface DueBooking {
  bookingId: string;
  record: BookingRecord;
  unrecorded?: Unrecorded;
}

/** What happened to one booking's pending change. */
export type BookingOutcome =
  | { kind: 'ok' }
  /** The credentials are rejected: the change waits for a reconnect. `rejected`: a 401 came now. */
  | { kind: 'held'; error: 'credentials_rejected'; rejected: boolean }
  /**
   * The account is throttled (429/503): its message comes back in `retryAfterSeconds` (backoff,
   * never sooner than the server asked), holding the account's group meanwhile — the pause.
   * `unrecorded`: the change was not recorded (the connection changed while it was written);
   * its message comes back so the connection of then takes it.
   */
  | { kind: 'retry'; retryAfterSeconds: number; error: string; unrecorded?: true }
  /**
   * This booking failed (5xx, a timeout, a conflict) or ran out of time: recorded on its record,
   * due again after its backoff (`retryInSeconds`, 0 = at the next sweep); its message is
   * acknowledged, so the account's other bookings go on.
   */
  | { kind: 'scheduled'; retryInSeconds: number; error: string }
  /** Refused for good: recorded on the booking, not retried until it changes or the account reconnects. */
  | { kind: 'failed'; error: 'event_rejected' | 'calendar_not_found' | 'calendar_untrusted' };

/**
 * Writes the pending changes of some of an account's bookings to its calendar with the given
 * credentials. A rejected password stops the account at once (no more requests with it), and
 * so does throttling (429/503: the account's other bookings wait instead of hammering). Every
 * outcome is recorded on its booking record; the account's `lastSync` once, for the latest
 * final outcome.
 */
export async function syncAccountBookings(
  deps: AccountSyncDeps,
  connection: Connection,
  credentials: DavCredentials,
  due: DueBooking[],
): Promise<Map<string, BookingOutcome>> {
  const outcomes = new Map<string, BookingOutcome>();
  let stopped: { rejected: true } | { throttled: CaldavError } | undefined;
  // Bookings written at once that all find the calendar moved share one re-discovery.
  let rediscovery: ReturnType<typeof rediscover> | undefined;
  const target: CalendarTarget = {
    accountId: connection.accountId,
    // New bookings go to the destination; events already written are updated where they are.
    calendarUrl: destinationOf(connection).url,
    alertMinutesBefore: connection.alertMinutesBefore,
    homeUrl: connection.homeUrl,
    credentials,
    rediscover: () => (rediscovery ??= rediscover(deps, connection, credentials)),
    halted: () => stopped !== undefined,
    // A rejected password or a throttle stops the account at once: no booking waiting for a
    // write slot sends anything from then on.
    failed: (err) => {
      if (stopped) return;
      if (classify(err) === 'held') stopped = { rejected: true };
      else if (isThrottle(err)) stopped = { throttled: err as CaldavError };
    },
  };

  // The deadline is wall-clock time (the Lambda's), as davFetch's cut-off is.
  const outOfTime = () => deps.deadline !== undefined && Date.now() >= deps.deadline;
  const syncOne = async ({ bookingId, record: planned, unrecorded }: DueBooking) => {
    // Any outcome but written goes on the record: a change not recorded yet is recorded first —
    // for the connection it was meant for only. Disconnected meanwhile (perhaps another Apple
    // ID connected): not recorded, its message comes back and is the connection's of then.
    const recorded = async (): Promise<BookingRecord | undefined> => {
      if (!unrecorded) return planned;
      if ((await deps.connections.get(connection.accountId))?.generation !== planned.generation) return undefined;
      return (await deps.bookings.advance(unrecorded.event, planned.generation!)) ?? (await deps.bookings.get(connection.accountId, bookingId)) ?? planned;
    };
    const notRecorded: BookingOutcome = { kind: 'retry', retryAfterSeconds: deps.retryBaseSeconds, error: 'connection_changed', unrecorded: true };
    // The account stopped (another booking's request learnt it): this one sends nothing.
    const afterStop = async (stop: NonNullable<typeof stopped>): Promise<BookingOutcome> => {
      const record = await recorded();
      if (!record) return notRecorded;
      // Held until a reconnect reopens it; throttled: paused with the account.
      return 'rejected' in stop ? { kind: 'held', error: 'credentials_rejected', rejected: false } : pauseAccount(deps, record, stop.throttled);
    };
    let outcome: BookingOutcome;
    let record: BookingRecord | undefined;
    if (stopped) outcome = await afterStop(stopped);
    else if (outOfTime()) outcome = (record = await recorded()) ? await outOfTimeRetry(deps, record) : notRecorded;
    else {
      try {
        await reconcileBooking(deps, target, bookingId, planned, unrecorded);
        outcome = { kind: 'ok' };
      } catch (err) {
        if (err instanceof AccountHalted && stopped) {
          outcomes.set(bookingId, await afterStop(stopped));
          return;
        }
        record = await recorded();
        outcome = !record ? notRecorded : outOfTime() ? await outOfTimeRetry(deps, record) : await settleFailure(deps, record, err);
        const retrying = outcome.kind === 'retry' || outcome.kind === 'scheduled';
        deps.log[retrying ? 'warn' : 'error']('booking sync did not complete', {
          accountId: connection.accountId,
          bookingId,
          outcome: outcome.kind,
          error: outcome.error,
          status: err instanceof CaldavError ? err.status : undefined,
          ...(outcome.kind === 'retry' ? { retryInSeconds: outcome.retryAfterSeconds } : {}),
          ...(outcome.kind === 'scheduled' ? { retryInSeconds: outcome.retryInSeconds } : {}),
        });
      }
    }
    outcomes.set(bookingId, outcome);
  };
  // Unless the credentials are known to work right now (written with just now), the first
  // booking goes alone: if the password was revoked or the account is throttled, only one
  // request learns it (repeated rejected logins can get an Apple ID locked).
  const lastOk = connection.lastSync?.outcome === 'ok' ? Date.parse(connection.lastSync.at) : NaN;
  const knownWorking = nowMs(deps) - lastOk < KNOWN_WORKING_MS;
  const [first, ...rest] = knownWorking ? [] : due;
  if (first !== undefined) await syncOne(first.unrecorded ? { ...first, unrecorded: { ...first.unrecorded, alone: true } } : first);
  // A new booking's record waits for the invocation's calendar writes to end (new-records.ts):
  // each gets a worker of its own, so none waits behind another's record for its write.
  const others = knownWorking ? due : rest;
  const waitingForRecords = others.filter((d) => d.unrecorded && d.unrecorded.readSeq === undefined).length;
  await mapLimit(others, Math.max(deps.concurrency ?? SYNC_DEFAULTS.bookingConcurrency, waitingForRecords), syncOne);

  const at = (deps.now?.() ?? new Date()).toISOString();
  const finals = [...outcomes.values()].filter((o) => o.kind === 'ok' || o.kind === 'failed' || o.kind === 'held');
  if (stopped && 'rejected' in stopped) {
    await deps.connections.recordSync(connection.accountId, { at, outcome: 'failed', error: 'credentials_rejected' }, 'error', connection.ciphertext);
  } else if (finals.length) {
    const failed = finals.find((o): o is Extract<BookingOutcome, { kind: 'failed' }> => o.kind === 'failed');
    const lastSync: LastSync = failed ? { at, outcome: 'failed', error: failed.error } : { at, outcome: 'ok' };
    // An `ok` a few seconds old says the same: not written again for every batch of a busy account.
    const fresh = !failed && connection.lastSync?.outcome === 'ok' && Date.parse(at) - Date.parse(connection.lastSync.at) < LAST_SYNC_REFRESH_MS;
    if (!fresh) await deps.connections.recordSync(connection.accountId, lastSync, undefined, connection.ciphertext);
  }
  return outcomes;
}

/** A `lastSync` of `ok` is refreshed at most this often while the account keeps syncing fine. */
const LAST_SYNC_REFRESH_MS = 30_000;
/**
 * Credentials that wrote fine this recently are taken to work: a batch's bookings of the
 * account go out at once. Twice the refresh, so an account that keeps syncing stays known.
 */
export const KNOWN_WORKING_MS = 2 * LAST_SYNC_REFRESH_MS;

const isThrottle = (err: unknown) => err instanceof CaldavError && (err.status === 429 || err.status === 503);

async function settleFailure(deps: AccountSyncDeps, record: BookingRecord, err: unknown): Promise<Exclude<BookingOutcome, { kind: 'ok' }>> {
  const failure = classify(err);
  if (failure === 'held') return { kind: 'held', error: 'credentials_rejected', rejected: true };
  if (failure === 'retry') return isThrottle(err) ? pauseAccount(deps, record, err as CaldavError) : retryBooking(deps, record, err);
  await deps.bookings.markFailed(record.accountId, record.bookingId, record.seq, failure);
  return { kind: 'failed', error: failure };
}

/** The backoff after this change's next failure (growing across re-drives: attempts are on the record). */
function backoffSeconds(deps: AccountSyncDeps, record: BookingRecord, err: unknown): number {
  const retryAfterSeconds = err instanceof CaldavError ? err.retryAfterSeconds : undefined;
  return retryDelaySeconds({ attempt: (record.attempts ?? 0) + 1, baseSeconds: deps.retryBaseSeconds, retryAfterSeconds, random: deps.random });
}

const errorCode = (err: unknown) => (err instanceof CaldavError ? 'calendar_unavailable' : 'internal_error');
const nowMs = (deps: AccountSyncDeps) => (deps.now?.() ?? new Date()).getTime();

/**
 * A failure of this booking alone: due again after its backoff, re-driven by the sweeper then.
 * Its message is acknowledged, so it never holds back the account's other bookings.
 */
async function retryBooking(deps: AccountSyncDeps, record: BookingRecord, err: unknown): Promise<Extract<BookingOutcome, { kind: 'scheduled' }>> {
  const delay = backoffSeconds(deps, record, err);
  await deps.bookings.markRetry(record.accountId, record.bookingId, record.seq, nowMs(deps) + delay * 1000);
  return { kind: 'scheduled', retryInSeconds: delay, error: errorCode(err) };
}

/** Not written before the invocation's deadline: due now, no attempt counted (nothing failed). */
async function outOfTimeRetry(deps: AccountSyncDeps, record: BookingRecord): Promise<Extract<BookingOutcome, { kind: 'scheduled' }>> {
  await deps.bookings.markRetry(record.accountId, record.bookingId, record.seq, nowMs(deps), false);
  return { kind: 'scheduled', retryInSeconds: 0, error: 'out_of_time' };
}

/**
 * The account is throttled: its message comes back after the backoff and holds the group
 * meanwhile (the pause). The record is due a sweep interval later still, so the sweeper is the
 * safety net, not a second writer racing the redelivery.
 */
async function pauseAccount(deps: AccountSyncDeps, record: BookingRecord, err: CaldavError): Promise<Extract<BookingOutcome, { kind: 'retry' }>> {
  const delay = backoffSeconds(deps, record, err);
  await deps.bookings.markRetry(record.accountId, record.bookingId, record.seq, nowMs(deps) + delay * 1000 + deps.bookings.sweepAfterMs);
  return { kind: 'retry', retryAfterSeconds: delay, error: 'calendar_unavailable' };
}

function classify(err: unknown): 'held' | 'retry' | 'event_rejected' | 'calendar_not_found' | 'calendar_untrusted' {
  if (err instanceof NoCalendarError) return 'calendar_not_found';
  if (!(err instanceof CaldavError)) return 'retry';
  switch (err.failure) {
    case 'unauthorized':
      return 'held';
    case 'transient':
      return 'retry';
    case 'forbidden':
    case 'not_found':
    case 'moved':
      return 'calendar_not_found';
    case 'untrusted':
      // Even re-discovery found no calendar on a trusted host: never retried with these credentials.
      return 'calendar_untrusted';
    default:
      return 'event_rejected';
  }
}

/**
 * The stored calendar URL went stale (iCloud moved the account, or the destination was
 * deleted): discover again, keep the new URLs; new bookings go to the destination as listed
 * now, or to the default calendar when it is gone.
 */
async function rediscover(deps: AccountSyncDeps, connection: Connection, credentials: DavCredentials): Promise<{ calendarUrl: string; homeUrl: string }> {
  let found;
  try {
    found = await discoverCalendar({ ...deps.caldav, credentials, deadline: deps.deadline });
  } catch (err) {
    // Refused on its own principal: the Apple ID can't be used (locked, CalDAV off).
    if (err instanceof CaldavError && err.failure === 'forbidden') throw new CaldavError('unauthorized', err.message, err.status);
    throw err;
  }
  deps.log.info('calendar re-discovered', { accountId: connection.accountId, from: connection.calendarUrl, to: found.calendar.url });
  const calendars = mergeListing(found.calendars, connection.calendars);
  await deps.connections.updateCalendar(connection.accountId, connection.ciphertext, found, calendars);
  const destination = destinationOf({ ...connection, calendarUrl: found.calendar.url, calendarName: found.calendar.name, calendars });
  if (destination.unavailable) deps.log.warn('destination calendar gone: new bookings go to the default calendar', { accountId: connection.accountId });
  return { calendarUrl: destination.url, homeUrl: found.homeUrl };
}
