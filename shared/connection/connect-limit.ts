import type { AppleIdMac } from './apple-id-mac.js';
import { DomainError } from '../errors.js';
import type { Log } from '../logger.js';
import type { AttemptStore } from '../store/attempts.js';

/**
 * The rejected-login limits connect enforces before any request reaches the CalDAV server:
 * per account (5 in 15 minutes) and per Apple ID across all accounts (5 in 15 minutes), so
 * N accounts can't make 5N failed logins on one person's Apple ID and get it locked.
 */
export interface ConnectLimits {
  /** Keyed by account id. */
  accounts: AttemptStore;
  /** Keyed by the Apple ID's MAC (partition `appleIdKey`). */
  appleIds: AttemptStore;
  mac: AppleIdMac;
}

/** An attempt counted under both limits while the login is under way. */
export interface HeldAttempt {
  /** The login was not rejected (server unreachable, timed out, untrusted answer): forget it. */
  release(): Promise<void>;
  /** Connected: earlier rejected logins of this account and this Apple ID are forgotten too. */
  clear(): Promise<void>;
}

const tooMany = (retryAfterSeconds: number, what: string) =>
  new DomainError('too_many_attempts', `Too many failed attempts to connect ${what}. Wait a few minutes and try again.`, undefined, retryAfterSeconds);

/** Reserves an attempt under both limits, or throws too_many_attempts (nothing left reserved). */
export async function reserveConnectAttempt(limits: ConnectLimits, accountId: string, appleId: string, log: Log): Promise<HeldAttempt> {
  const appleIdKey = await limits.mac.keyOf(appleId);
  const account = await limits.accounts.reserve(accountId);
  if (!account.ok) {
    log.warn('connect refused: too many attempts', { accountId, limit: 'account' });
    throw tooMany(account.retryAfterSeconds, 'from this account');
  }
  let apple;
  try {
    apple = await limits.appleIds.reserve(appleIdKey);
  } catch (err) {
    await limits.accounts.release(accountId, account.id);
    throw err;
  }
  if (!apple.ok) {
    await limits.accounts.release(accountId, account.id);
    // The Apple ID is not logged, not even hashed: the account id says who tried.
    log.warn('connect refused: too many attempts', { accountId, limit: 'appleId' });
    throw tooMany(apple.retryAfterSeconds, 'this Apple ID');
  }
  const appleReservation = apple.id;
  return {
    async release() {
      await Promise.all([limits.accounts.release(accountId, account.id), limits.appleIds.release(appleIdKey, appleReservation)]);
    },
    async clear() {
      await Promise.all([limits.accounts.clear(accountId), limits.appleIds.clear(appleIdKey)]);
    },
  };
}
