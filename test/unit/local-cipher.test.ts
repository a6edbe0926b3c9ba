import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateKey, localCipher } from '../../shared/cipher/local.js';

const dir = mkdtempSync(join(tmpdir(), 'local-cipher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'abcd-efgh-ijkl-mnop';

describe('localCipher (AES-256-GCM, account id as additional data)', () => {
  const cipher = localCipher(randomBytes(32));

  it('round-trips a password for the same account', async () => {
    const ct = await cipher.encrypt(PASSWORD, 'account-a');
    expect(await cipher.decrypt(ct, 'account-a')).toBe(PASSWORD);
  });

  it('produces base64 that does not contain the password, different every time', async () => {
    const one = await cipher.encrypt(PASSWORD, 'account-a');
    const two = await cipher.encrypt(PASSWORD, 'account-a');
    expect(one).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(one).not.toBe(two);
    for (const ct of [one, two]) {
      expect(ct).not.toContain(PASSWORD);
      expect(Buffer.from(ct, 'base64').toString('latin1')).not.toContain('abcd');
    }
  });

  it('fails when the ciphertext is moved to another account', async () => {
    const ct = await cipher.encrypt(PASSWORD, 'account-a');
    await expect(cipher.decrypt(ct, 'account-b')).rejects.toThrow();
    await expect(cipher.decrypt(ct, 'account-a ')).rejects.toThrow();
    await expect(cipher.decrypt(ct, '')).rejects.toThrow();
  });

  it('fails for a tampered ciphertext', async () => {
    const raw = Buffer.from(await cipher.encrypt(PASSWORD, 'account-a'), 'base64');
    raw[raw.length - 1]! ^= 0x01;
    await expect(cipher.decrypt(raw.toString('base64'), 'account-a')).rejects.toThrow();
  });

  it('fails under another key', async () => {
    const ct = await cipher.encrypt(PASSWORD, 'account-a');
    await expect(localCipher(randomBytes(32)).decrypt(ct, 'account-a')).rejects.toThrow();
  });

  it('rejects what it did not produce', async () => {
    await expect(cipher.decrypt('', 'account-a')).rejects.toThrow(/unrecognised ciphertext/);
    await expect(cipher.decrypt(Buffer.from([2, ...randomBytes(40)]).toString('base64'), 'account-a')).rejects.toThrow(/unrecognised ciphertext/);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => localCipher(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('loadOrCreateKey', () => {
  it('creates the key file (and its folder) with mode 0600 and a 32-byte key', () => {
    const file = join(dir, 'nested', 'folder', 'credentials-key');
    const key = loadOrCreateKey(file);
    expect(key).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(key)).toBe(true);
  });

  it('reuses the existing key: what one process encrypted, the next one decrypts', async () => {
    const file = join(dir, 'reused-key');
    const first = loadOrCreateKey(file);
    const ct = await localCipher(first).encrypt(PASSWORD, 'account-a');
    const again = loadOrCreateKey(file);
    expect(again.equals(first)).toBe(true);
    expect(await localCipher(again).decrypt(ct, 'account-a')).toBe(PASSWORD);
  });

  it('reads a key file written by someone else', () => {
    const file = join(dir, 'given-key');
    const key = randomBytes(32);
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
    expect(loadOrCreateKey(file).equals(key)).toBe(true);
  });
});
