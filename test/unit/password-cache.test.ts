import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { localCipher } from '../../shared/cipher/local.js';
import type { CredentialCipher } from '../../shared/cipher/port.js';
import { PasswordCache } from '../../shared/sync/password-cache.js';
import { retryDelaySeconds } from '../../shared/sync/backoff.js';

function counting(inner: CredentialCipher) {
  const counter = { decrypts: 0 };
  return {
    counter,
    cipher: { encrypt: inner.encrypt, decrypt: (c: string, a: string) => (counter.decrypts++, inner.decrypt(c, a)) } satisfies CredentialCipher,
  };
}

describe('password cache', () => {
  it('decrypts once per account and ciphertext within the window, also for concurrent callers', async () => {
    const base = localCipher(randomBytes(32));
    const { cipher, counter } = counting(base);
    let now = 0;
    const cache = new PasswordCache(cipher, 60_000, () => now);
    const ct = await base.encrypt('abcd-efgh-ijkl-mnop', 'a');
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.get('a', ct)));
    expect(new Set(results)).toEqual(new Set(['abcd-efgh-ijkl-mnop']));
    expect(counter.decrypts).toBe(1);
    now = 59_000;
    await cache.get('a', ct);
    expect(counter.decrypts).toBe(1);
    now = 61_000;
    await cache.get('a', ct);
    expect(counter.decrypts).toBe(2);
  });

  it('a new ciphertext (reconnect) is never served the old password; forget() drops an account', async () => {
    const base = localCipher(randomBytes(32));
    const { cipher, counter } = counting(base);
    const cache = new PasswordCache(cipher);
    const old = await base.encrypt('aaaa-aaaa-aaaa-aaaa', 'a');
    const fresh = await base.encrypt('bbbb-bbbb-bbbb-bbbb', 'a');
    expect(await cache.get('a', old)).toBe('aaaa-aaaa-aaaa-aaaa');
    expect(await cache.get('a', fresh)).toBe('bbbb-bbbb-bbbb-bbbb');
    cache.forget('a');
    await cache.get('a', fresh);
    expect(counter.decrypts).toBe(3);
  });

  it('a failed decrypt is not cached', async () => {
    const base = localCipher(randomBytes(32));
    const { cipher, counter } = counting(base);
    const cache = new PasswordCache(cipher);
    const ct = await base.encrypt('aaaa-aaaa-aaaa-aaaa', 'a');
    await expect(cache.get('b', ct)).rejects.toThrow();
    await expect(cache.get('b', ct)).rejects.toThrow();
    expect(counter.decrypts).toBe(2);
  });
});

describe('retry delay', () => {
  const delay = (attempt: number, retryAfterSeconds?: number, jitter = 0) => retryDelaySeconds({ attempt, baseSeconds: 30, retryAfterSeconds, random: () => jitter });
  it('grows from the base step, doubling, up to 15 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => delay(n))).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
  });
  it('is never sooner than Retry-After, and keeps growing past a too-short one', () => {
    expect(delay(1, 120)).toBe(120);
    expect(delay(3, 1)).toBe(120);
    expect(delay(1, 100_000)).toBe(100_000); // however long: the record keeps it (SQS's 12 h visibility limit is the handler's)
  });
  it('adds up to 20 % jitter, never less than the backoff', () => {
    expect(delay(1, undefined, 0.5)).toBe(33);
    expect(delay(2, undefined, 0.999)).toBe(72);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelaySeconds({ attempt: 4, baseSeconds: 30 })));
    expect(spread.size).toBeGreaterThan(5);
    for (const d of spread) expect(d).toBeGreaterThanOrEqual(240), expect(d).toBeLessThanOrEqual(288);
  });
});
