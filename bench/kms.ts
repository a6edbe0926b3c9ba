// Decrypt calls per account while one warm container syncs many bookings. The real sync
// handler (`createSyncHandler`, as functions/sync.ts makes it) gets a platform whose cipher is
// the stack's own, wrapped in a decorator that counts calls on the port; nothing else differs.
import { createSyncHandler } from '../functions/handlers/sync.js';
import { cipherFromConfig } from '../functions/lib/platform.js';
import type { CredentialCipher } from '../shared/cipher/port.js';
import { bookingEvent, sqsEvent } from '../test/harness/bookings.js';
import { slot } from './requests.js';
import type { World } from './world.js';

export interface KmsResult {
  /** Mean Decrypt calls per account over the warm run (the headline figure). */
  decryptsPerAccount: number;
  accounts: number;
  bookingsPerAccount: number;
  batches: number;
  byAccount: Record<string, number>;
  /** The same traffic spread over simulated minutes (the platform's clock, the cache's own TTL): one Decrypt per window expected. */
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

export async function measureKmsDecrypts(world: World, opts: { accountIds: string[]; bookingsPerAccount: number; batchSize: number }): Promise<KmsResult> {
  const problems: string[] = [];
  const check = (label: string, res: Awaited<ReturnType<ReturnType<typeof createSyncHandler>>>) => {
    if (res.batchItemFailures.length) problems.push(`${label}: ${res.batchItemFailures.length} batch item failure(s)`);
  };

  // 1. A cold cache (a fresh container), then many batches mixing the accounts.
  const warm = counting(cipherFromConfig(world.stack.config));
  const sync = createSyncHandler(world.platform({ cipher: () => warm.cipher }));
  const bodies = Array.from({ length: opts.accountIds.length * opts.bookingsPerAccount }, (_, i) => {
    const accountId = opts.accountIds[i % opts.accountIds.length]!;
    return bookingEvent('confirmed', accountId, `bk_kms_${i}`, 0, { start: slot(i, 0), end: slot(i, 30) });
  });
  let batches = 0;
  for (let b = 0; b < bodies.length; b += opts.batchSize) {
    check('kms run', await sync(sqsEvent(bodies.slice(b, b + opts.batchSize))));
    batches += 1;
  }
  const byAccount = Object.fromEntries(opts.accountIds.map((a) => [a, warm.calls.get(a) ?? 0]));
  const total = Object.values(byAccount).reduce((n, c) => n + c, 0);

  // 2. One account's traffic over 12 simulated minutes, a batch a minute: the platform's clock
  // (which the password cache reads) is moved on, the cache keeps its own 5-minute TTL.
  const accountId = opts.accountIds[0]!;
  const minutes = 12;
  let now = Date.now();
  const timed = counting(cipherFromConfig(world.stack.config));
  const timedSync = createSyncHandler(world.platform({ cipher: () => timed.cipher, now: () => new Date(now) }));
  for (let m = 0; m <= minutes; m++) {
    check(`kms over time, minute ${m}`, await timedSync(sqsEvent([bookingEvent('confirmed', accountId, `bk_kms_t${m}`, 0, { start: slot(m, 0), end: slot(m, 30) })])));
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
