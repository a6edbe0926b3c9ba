import type { AllowedHosts } from '../caldav/trusted-hosts.js';
import { discoverCalendar, NoCalendarError } from '../caldav/discovery.js';
import { CaldavError, type DavCredentials } from '../caldav/transport.js';
import { mapLimit } from '../concurrency.js';
import type { Log } from '../logger.js';
import type { BookingRecord } from '../store/bookings.js';
import type { Connection, ConnectionStore, LastSync } from '../store/connections.js';
import { reconcileBooking, type CalendarTarget, type ReconcileDeps } from './reconcile.js';

export interface AccountSyncDeps extends ReconcileDeps {
  connections: ConnectionStore;
  caldav: { serverUrl: string; timeoutMs: number; allowedHosts: AllowedHosts; fetch?: typeof fetch };
  log: Log;
  /** Bookings of one account written at once. */
  concurrency?: number;
  now?: () => Date;
}

/** What happened to one booking's pending change (`deferred`: not started, out of time). */
export type BookingOutcome =
  | { result: 'ok' }
  | { result: 'held'; error: 'credentials_rejected' }
  | { result: 'retry'; retryAfterSeconds?: number; error: string }
  | { result: 'failed'; error: string };

/**
 * Writes the pending changes of some of an account's bookings to its calendar with the given
 * credentials. A rejected password stops the account at once (no more requests with it): the
 * connection turns `error` and the changes stay pending until the account reconnects.
 * Records the account's `lastSync` once, for the latest final outcome.
 */
export async function syncAccountBookings(
  deps: AccountSyncDeps,
  connection: Connection,
  credentials: DavCredentials,
  due: Array<{ bookingId: string; record?: BookingRecord }>,
  /** No booking is started at or after this time (ms since epoch); those left get `retry`/`deferred`. */
  opts: { startBy?: number } = {},
): Promise<Map<string, BookingOutcome>> {
  const outcomes = new Map<string, BookingOutcome>();
  let rejected = false;
  const target: CalendarTarget = {
    accountId: connection.accountId,
    calendarUrl: connection.calendarUrl,
    credentials,
    rediscover: () => rediscover(deps, connection, credentials),
  };

  const syncOne = async ({ bookingId, record }: { bookingId: string; record?: BookingRecord }) => {
    if (rejected) return outcomes.set(bookingId, { result: 'held', error: 'credentials_rejected' });
    if (opts.startBy !== undefined && (deps.now?.() ?? new Date()).getTime() >= opts.startBy) return outcomes.set(bookingId, { result: 'retry', error: 'deferred' });
    try {
      await reconcileBooking(deps, target, bookingId, record);
      outcomes.set(bookingId, { result: 'ok' });
    } catch (err) {
      const outcome = classify(err);
      if (outcome.result === 'held') rejected = true;
      outcomes.set(bookingId, outcome);
      deps.log[outcome.result === 'retry' ? 'warn' : 'error']('booking sync did not complete', {
        accountId: connection.accountId,
        bookingId,
        outcome: outcome.result,
        error: outcome.error,
        status: err instanceof CaldavError ? err.status : undefined,
      });
    }
  };
  // The first booking goes alone: if the password was revoked meanwhile, only one request is
  // rejected (repeated rejected logins can get an Apple ID locked). The rest run concurrently.
  const [first, ...rest] = due;
  if (first !== undefined) await syncOne(first);
  await mapLimit(rest, deps.concurrency ?? 4, syncOne);

  const at = (deps.now?.() ?? new Date()).toISOString();
  const finals = [...outcomes.values()].filter((o) => o.result !== 'retry');
  if (rejected) {
    await deps.connections.recordSync(connection.accountId, { at, outcome: 'failed', error: 'credentials_rejected' }, 'error', connection.ciphertext);
  } else if (finals.length) {
    const failed = finals.find((o): o is Extract<BookingOutcome, { result: 'failed' }> => o.result === 'failed');
    const lastSync: LastSync = failed ? { at, outcome: 'failed', error: failed.error } : { at, outcome: 'ok' };
    await deps.connections.recordSync(connection.accountId, lastSync, undefined, connection.ciphertext);
  }
  return outcomes;
}

function classify(err: unknown): Exclude<BookingOutcome, { result: 'ok' }> {
  if (err instanceof NoCalendarError) return { result: 'failed', error: 'calendar_not_found' };
  if (!(err instanceof CaldavError)) return { result: 'retry', error: 'internal_error' };
  switch (err.failure) {
    case 'unauthorized':
      return { result: 'held', error: 'credentials_rejected' };
    case 'transient':
      return { result: 'retry', retryAfterSeconds: err.retryAfterSeconds, error: 'calendar_unavailable' };
    case 'forbidden':
    case 'not_found':
    case 'moved':
      return { result: 'failed', error: 'calendar_not_found' };
    case 'untrusted':
      // Even re-discovery found no calendar on a trusted host: never retried with these credentials.
      return { result: 'failed', error: 'calendar_untrusted' };
    default:
      return { result: 'failed', error: 'calendar_rejected_event' };
  }
}

/** The stored calendar URL went stale (iCloud moved the account): discover again, keep the new URL. */
async function rediscover(deps: AccountSyncDeps, connection: Connection, credentials: DavCredentials): Promise<string> {
  let found;
  try {
    found = await discoverCalendar({ ...deps.caldav, credentials });
  } catch (err) {
    // Refused on its own principal: the Apple ID can't be used (locked, CalDAV off).
    if (err instanceof CaldavError && err.failure === 'forbidden') throw new CaldavError('unauthorized', err.message, err.status);
    throw err;
  }
  deps.log.info('calendar re-discovered', { accountId: connection.accountId, from: connection.calendarUrl, to: found.calendar.url });
  await deps.connections.updateCalendar(connection.accountId, connection.ciphertext, found);
  return found.calendar.url;
}
