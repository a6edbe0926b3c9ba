import type { AllowedHosts } from '../caldav/trusted-hosts.js';
import type { CredentialCipher } from '../cipher/port.js';
import { discoverCalendar, NoCalendarError, type Discovery } from '../caldav/discovery.js';
import { CaldavError } from '../caldav/transport.js';
import { DomainError } from '../errors.js';
import type { Log } from '../logger.js';
import { reserveConnectAttempt, type ConnectLimits } from './connect-limit.js';
import { deadlineFrom, within, type Deadline } from './deadline.js';
import { connectedDetails, type Details } from './details.js';
import { mergeListing } from '../busy/calendars.js';
import { AppleIdConflict, type Connection, type ConnectionStore } from '../store/connections.js';

export interface ConnectionDeps {
  connections: ConnectionStore;
  /** Rejected-login limits per account and per Apple ID. */
  limits: ConnectLimits;
  cipher: CredentialCipher;
  caldav: { serverUrl: string; timeoutMs: number; allowedHosts: AllowedHosts; fetch?: typeof fetch };
  log: Log;
  now?: () => Date;
  /**
   * Runs after a successful connect, e.g. to put the booking changes held while the previous
   * password was rejected back on the queue. Its failure never fails connect.
   */
  afterConnect?: (connection: Connection) => Promise<{ pendingChanges: number }>;
  /** The details as the dashboard sees them (with the counts of changes not yet written). */
  details: (connection: Connection) => Promise<Details>;
}

export interface ConnectInput {
  appleId: string;
  /** Already normalised to Apple's form. */
  appSpecificPassword: string;
}

export interface ConnectOptions {
  /** When connect must have answered (from the Lambda's remaining time); default 25 s from now. */
  deadline?: Deadline;
}

/** Kept back from discovery for what follows it: KMS Encrypt and the DynamoDB writes. */
export const SAVE_RESERVE_MS = 3_000;

/**
 * Verifies the Apple ID and app-specific password against the CalDAV server, finds the
 * default calendar, and only then encrypts and stores the password. Discovery gets the time
 * left before the deadline minus what saving needs, so connect always answers itself: a slow
 * server is `calendar_unavailable` and its attempt is released (never a rejected login), and
 * once the connection is saved the answer is its 2xx whatever happens after.
 */
export async function connect(deps: ConnectionDeps, accountId: string, input: ConnectInput, opts: ConnectOptions = {}): Promise<{ created: boolean; details: Details }> {
  const deadline = opts.deadline ?? deadlineFrom(undefined);
  const existing = await deps.connections.get(accountId);
  if (existing && existing.appleId.trim().toLowerCase() !== input.appleId.trim().toLowerCase()) throw alreadyConnected();

  const attempt = await reserveConnectAttempt(deps.limits, accountId, input.appleId, deps.log);
  const release = () =>
    attempt.release().catch((err: unknown) => deps.log.error('could not release a connect attempt', { accountId, error: (err as Error).message }));

  const credentials = { username: input.appleId.trim(), password: input.appSpecificPassword };
  let found: Discovery;
  try {
    found = await discoverCalendar({ ...deps.caldav, credentials, deadline: deadline.at - SAVE_RESERVE_MS });
  } catch (err) {
    const rejected = err instanceof CaldavError && isRejection(err);
    if (!rejected) await release();
    throw mapDiscoveryError(err, deps.log, accountId);
  }
  deps.log.info('calendar discovered', { accountId, requests: found.requests, calendarUrl: found.calendar.url });

  const now = (deps.now?.() ?? new Date()).toISOString();
  let saved: { created: boolean; connection: Connection };
  try {
    const ciphertext = await deps.cipher.encrypt(input.appSpecificPassword, accountId);
    saved = await deps.connections.save({
      accountId,
      appleId: input.appleId.trim(),
      ciphertext,
      calendarUrl: found.calendar.url,
      calendarName: found.calendar.name,
      principalUrl: found.principalUrl,
      homeUrl: found.homeUrl,
      // Every usable calendar (busy times); a reconnect keeps the person's conflict choices.
      calendars: mergeListing(found.calendars, existing?.calendars),
      addresses: found.addresses,
      status: 'active',
      updatedAt: now,
      connectedAt: now,
    });
  } catch (err) {
    // The login worked: whatever failed here is no rejected login.
    await release();
    if (err instanceof AppleIdConflict) throw alreadyConnected();
    throw err;
  }
  deps.log.info(saved.created ? 'connected' : 'reconnected', { accountId });

  // Saved: from here on nothing changes the answer, and nothing may outlive the deadline.
  await attempt.clear().catch((err: unknown) => deps.log.warn('could not clear connect attempts', { accountId, error: (err as Error).message }));
  if (deps.afterConnect) {
    const work = deps.afterConnect(saved.connection).then(
      (requeued) => ({ requeued }),
      (err: unknown) => {
        deps.log.error('requeueing held booking changes failed; the sweeper will', { accountId, error: (err as Error).message });
        return { requeued: undefined };
      },
    );
    const done = await within(deadline.left(AFTER_CONNECT_RESERVE_MS), work);
    if (!done) deps.log.warn('requeueing held booking changes ran out of time; the sweeper will', { accountId });
    // What was requeued is what is pending (none refused any more): no need to count again.
    if (done?.requeued) return { created: saved.created, details: connectedDetails(saved.connection, done.requeued.pendingChanges, 0) };
  }
  const details = await within(deadline.left(0), deps.details(saved.connection).catch(() => undefined));
  return { created: saved.created, details: details || connectedDetails(saved.connection) };
}

/** Kept back after requeueing held changes for counting them in the answer. */
const AFTER_CONNECT_RESERVE_MS = 1_000;

/**
 * 401, or 403 while discovering the account's own principal and home (iCloud's answer for an
 * Apple ID that is locked or not allowed CalDAV): the person must act, retrying won't help.
 */
const isRejection = (err: CaldavError) => err.failure === 'unauthorized' || err.failure === 'forbidden';

const alreadyConnected = () =>
  new DomainError('already_connected', 'Another Apple ID is already connected. Disconnect it before connecting a different one.');

function mapDiscoveryError(err: unknown, log: Log, accountId: string): DomainError {
  if (err instanceof NoCalendarError) {
    return new DomainError('no_calendar', 'This iCloud account has no calendar that can hold events. Create one in the Calendar app and try again.');
  }
  if (err instanceof CaldavError && isRejection(err)) {
    log.info('connect rejected by the CalDAV server', { accountId, status: err.status });
    return new DomainError(
      'invalid_credentials',
      'iCloud rejected the Apple ID or password. Use an app-specific password generated at appleid.apple.com, not your Apple ID password.',
    );
  }
  if (err instanceof CaldavError && err.failure === 'untrusted') {
    // The server named (or redirected to) a host we don't send credentials to: nothing was sent there.
    log.error('CalDAV server named an untrusted host during connect', { accountId, error: err.message });
    return new DomainError('calendar_unavailable', 'The calendar server could not be reached. Try again in a few minutes.');
  }
  log.warn('CalDAV server unavailable during connect', {
    accountId,
    failure: err instanceof CaldavError ? err.failure : 'error',
    status: err instanceof CaldavError ? err.status : undefined,
    error: (err as Error).message,
  });
  return new DomainError('calendar_unavailable', 'The calendar server could not be reached. Try again in a few minutes.');
}
