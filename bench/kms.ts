// Decrypt calls per account while one warm container syncs many bookings. The sync handler
// builds `{ ...syncDeps, passwords: new PasswordCache(cipherFromConfig(config)) }` at module
// scope; this drives the same `syncBatch` with the same deps (the very module instances the
// handler uses) and the same cipher, wrapped in a decorator that counts calls on the port.
import type { CredentialCipher } from '../shared/cipher/port.js';
import { PasswordCache } from '../shared/sync/password-cache.js';
import { syncBatch } from '../shared/sync/sync-batch.js';
import { bookingEvent } from '../test/helpers/bookings.js';
import { slot } from './requests.js';

export interface KmsResult {
  /** Mean Decrypt calls per account over the warm run (the headline figure). */
  decryptsPerAccount: number;
  accounts: number;
  bookingsPerAccount: number;
  batches: number;
  byAccount: Record<string, number>;
  /** The same traffic spread over simulated minutes (a fake clock for the cache): one Decrypt per window expected. */
  overTime: { minutes: number; batches: number; decrypts: number };
  problems: string[];
}

function counting(inner: CredentialCipher) {
  const calls = new Map<string, number>();
  const cipher: CredentialCipher = {
    encrypt: (plaintext, accountId) => inner.encrypt(plaintext, accountId),
    decrypt: (ciphertext, accountId) => {
      calls.set(accountId, (calls.get(accountId) ?? 0) + 1);
      return inner.decrypt(ciphertext, accountId);
    },
  };
  return { cipher, calls };
}

export async function measureKmsDecrypts(opts: { accountIds: string[]; bookingsPerAccount: number; batchSize: number }): Promise<KmsResult> {
  const { config } = await import('../functions/lib/runtime.js');
  const { cipherFromConfig } = await import('../functions/lib/cipher.js');
  const { syncDeps } = await import('../functions/lib/sync-runtime.js');
  const problems: string[] = [];

  // 1. A cold cache (a fresh container), then many batches mixing the accounts.
  const warm = counting(cipherFromConfig(config));
  const deps = { ...syncDeps, passwords: new PasswordCache(warm.cipher) };
  const messages = Array.from({ length: opts.accountIds.length * opts.bookingsPerAccount }, (_, i) => {
    const accountId = opts.accountIds[i % opts.accountIds.length]!;
    return { id: `m${i}`, body: JSON.stringify(bookingEvent('confirmed', accountId, `bk_kms_${i}`, 0, { start: slot(i, 0), end: slot(i, 30) })) };
  });
  let batches = 0;
  for (let b = 0; b < messages.length; b += opts.batchSize) {
    const results = await syncBatch(deps, messages.slice(b, b + opts.batchSize));
    batches += 1;
    const bad = results.filter((r) => r.result !== 'ok');
    if (bad.length) problems.push(`kms run: ${bad.length} message(s) not ok (${bad[0]!.result})`);
  }
  const byAccount = Object.fromEntries(opts.accountIds.map((a) => [a, warm.calls.get(a) ?? 0]));
  const total = Object.values(byAccount).reduce((n, c) => n + c, 0);

  // 2. One account's traffic over 12 simulated minutes, a batch a minute, the cache's own TTL.
  const accountId = opts.accountIds[0]!;
  const minutes = 12;
  let now = Date.now();
  const timed = counting(cipherFromConfig(config));
  const timedDeps = { ...syncDeps, passwords: new PasswordCache(timed.cipher, undefined, () => now) };
  for (let m = 0; m <= minutes; m++) {
    const body = JSON.stringify(bookingEvent('confirmed', accountId, `bk_kms_t${m}`, 0, { start: slot(m, 0), end: slot(m, 30) }));
    const [r] = await syncBatch(timedDeps, [{ id: `t${m}`, body }]);
    if (r?.result !== 'ok') problems.push(`kms over time: minute ${m} ${r?.result}`);
    now += 60_000;
  }

  return {
    decryptsPerAccount: total / opts.accountIds.length,
    accounts: opts.accountIds.length,
    bookingsPerAccount: opts.bookingsPerAccount,
    batches,
    byAccount,
    overTime: { minutes, batches: minutes + 1, decrypts: timed.calls.get(accountId) ?? 0 },
    problems,
  };
}
