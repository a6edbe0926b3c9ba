import type { CredentialCipher } from './cipher/port.js';
import { discoverCalendar, NoCalendarError, type Discovery } from './caldav/discovery.js';
import { CaldavError, type DavCredentials } from './caldav/transport.js';
import { DomainError } from './errors.js';
import type { Log } from './logger.js';
import type { AttemptStore } from './store/attempts.js';
import { toDetails, type Details } from './connection-details.js';
import { mergeListing } from './busy/calendars.js';
import { AppleIdConflict, type Connection, type ConnectionStore } from './store/connections.js';

export interface ConnectionDeps {
  connections: ConnectionStore;
  attempts: AttemptStore;
  cipher: CredentialCipher;
  caldav: { serverUrl: string; timeoutMs: number; fetch?: typeof fetch };
  log: Log;
  now?: () => Date;
  /**
   * Runs after a successful connect with the verified credentials, e.g. to write booking
   * changes held while the previous password was rejected. Its failure never fails connect.
   */
  afterConnect?: (connection: Connection, credentials: DavCredentials) => Promise<unknown>;
}

export interface ConnectInput {
  appleId: string;
  /** Already normalised to Apple's form. */
  appSpecificPassword: string;
}

/**
 * Verifies the Apple ID and app-specific password against the CalDAV server, finds the
 * default calendar, and only then encrypts and stores the password.
 */
export async function connect(deps: ConnectionDeps, accountId: string, input: ConnectInput): Promise<{ created: boolean; details: Details }> {
  const existing = await deps.connections.get(accountId);
  if (existing && existing.appleId.trim().toLowerCase() !== input.appleId.trim().toLowerCase()) throw alreadyConnected();

  const reservation = await deps.attempts.reserve(accountId);
  if (!reservation.ok) {
    deps.log.warn('connect refused: too many attempts', { accountId });
    throw new DomainError('too_many_attempts', 'Too many failed attempts to connect. Wait a few minutes and try again.', undefined, reservation.retryAfterSeconds);
  }

  const credentials = { username: input.appleId.trim(), password: input.appSpecificPassword };
  let found: Discovery;
  try {
    found = await discoverCalendar({ ...deps.caldav, credentials });
  } catch (err) {
    const rejected = err instanceof CaldavError && isRejection(err);
    if (!rejected) await deps.attempts.release(accountId, reservation.id);
    throw mapDiscoveryError(err, deps.log, accountId);
  }
  deps.log.info('calendar discovered', { accountId, requests: found.requests, calendarUrl: found.calendar.url });

  const now = (deps.now?.() ?? new Date()).toISOString();
  const ciphertext = await deps.cipher.encrypt(input.appSpecificPassword, accountId);
  let saved: { created: boolean; connection: Connection };
  try {
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
    if (err instanceof AppleIdConflict) throw alreadyConnected();
    throw err;
  }
  await deps.attempts.clear(accountId);
  deps.log.info(saved.created ? 'connected' : 'reconnected', { accountId });

  if (deps.afterConnect) {
    try {
      await deps.afterConnect(saved.connection, credentials);
    } catch (err) {
      deps.log.error('replaying held booking changes failed; they stay pending', { accountId, error: (err as Error).message });
    }
  }
  // Replaying held changes may have recorded a sync outcome: answer with the latest state.
  const latest = (await deps.connections.get(accountId)) ?? saved.connection;
  return { created: saved.created, details: toDetails(latest) };
}

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
  log.warn('CalDAV server unavailable during connect', {
    accountId,
    failure: err instanceof CaldavError ? err.failure : 'error',
    status: err instanceof CaldavError ? err.status : undefined,
    error: (err as Error).message,
  });
  return new DomainError('calendar_unavailable', 'The calendar server could not be reached. Try again in a few minutes.');
}
