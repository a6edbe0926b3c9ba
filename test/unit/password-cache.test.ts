import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { localCipher } from '../../shared/cipher/local.js';
import type { CredentialCipher } from '../../shared/cipher/port.js';
import { PasswordCache } from '../../shared/sync/password-cache.js';
import { redeliveryDelaySeconds } from '../../functions/lib/redelivery.js';

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

describe('redelivery delay', () => {
  it('honours Retry-After, else backs off with the receive count, within SQS limits', () => {
    expect(redeliveryDelaySeconds(120, 1)).toBe(120);
    expect(redeliveryDelaySeconds(0, 1)).toBe(1);
    expect(redeliveryDelaySeconds(100_000, 1)).toBe(43_200);
    expect(redeliveryDelaySeconds(undefined, 1)).toBe(30);
    expect(redeliveryDelaySeconds(undefined, 2)).toBe(60);
    expect(redeliveryDelaySeconds(undefined, 3)).toBe(120);
    expect(redeliveryDelaySeconds(undefined, 10)).toBe(900);
  });
});
