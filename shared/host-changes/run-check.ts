import type { DavCredentials } from '../caldav/transport.js';
import { CaldavError } from '../caldav/transport.js';
import type { Log } from '../logger.js';
import type { ConnectionStore } from '../store/connections.js';
import type { PasswordCache } from '../sync/password-cache.js';
import { checkAccount, type CheckResult, type DetectDeps } from './detect.js';

export interface RunCheckDeps extends DetectDeps {
  connections: ConnectionStore;
  passwords: PasswordCache;
  log: Log;
}

export type CheckOutcome = { kind: 'checked'; result: CheckResult } | { kind: 'skipped'; why: 'not_connected' | 'not_active' } | { kind: 'failed'; error: string };

/**
 * Handles one check message of an account: only an `active` connection is checked; a check
 * that fails is not retried (the next interval's check comes soon) — except that rejected
 * credentials turn the connection `error`, as a sync would, so no more logins are tried with
 * them (repeated rejected logins can get an Apple ID locked).
 */
export async function runHostCheck(deps: RunCheckDeps, accountId: string): Promise<CheckOutcome> {
  const connection = await deps.connections.get(accountId);
  if (!connection) return { kind: 'skipped', why: 'not_connected' };
  if (connection.status !== 'active') return { kind: 'skipped', why: 'not_active' };
  let credentials: DavCredentials;
  try {
    credentials = { username: connection.appleId, password: await deps.passwords.get(accountId, connection.ciphertext) };
    const result = await checkAccount(deps, connection, credentials);
    deps.log.debug('host-change check', { accountId, ...result });
    return { kind: 'checked', result };
  } catch (err) {
    const status = err instanceof CaldavError ? err.status : undefined;
    if (err instanceof CaldavError && err.failure === 'unauthorized') {
      deps.passwords.forget(accountId);
      await deps.connections.recordSync(accountId, { at: (deps.now?.() ?? new Date()).toISOString(), outcome: 'failed', error: 'credentials_rejected' }, 'error', connection.ciphertext);
    }
    deps.log.warn('host-change check did not complete: the next interval checks again', { accountId, errorName: (err as Error).name, error: (err as Error).message, status });
    return { kind: 'failed', error: err instanceof CaldavError ? err.failure : 'internal_error' };
  }
}
