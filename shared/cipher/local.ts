import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encryptionContext, type CredentialCipher } from './port.js';

const VERSION = 1;

/**
 * AES-256-GCM with a key file, in place of KMS for the local stack and tests.
 * The account id is the additional authenticated data, so a ciphertext moved to another
 * account does not decrypt. Layout: version(1) | iv(12) | tag(16) | ciphertext.
 */
export function localCipher(key: Buffer): CredentialCipher {
  if (key.length !== 32) throw new Error('local cipher key must be 32 bytes');
  const aad = (accountId: string) => Buffer.from(JSON.stringify(encryptionContext(accountId)), 'utf8');
  return {
    async encrypt(plaintext, accountId) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad(accountId));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]).toString('base64');
    },
    async decrypt(ciphertext, accountId) {
      const raw = Buffer.from(ciphertext, 'base64');
      if (raw[0] !== VERSION || raw.length < 29) throw new Error('unrecognised ciphertext');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 13));
      decipher.setAAD(aad(accountId));
      decipher.setAuthTag(raw.subarray(13, 29));
      return Buffer.concat([decipher.update(raw.subarray(29)), decipher.final()]).toString('utf8');
    },
  };
}

/** Reads the key file, creating it (mode 0600) with a random key on first use. */
export function loadOrCreateKey(file: string): Buffer {
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dirname(file), { recursive: true });
    const key = randomBytes(32);
    try {
      writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      return key;
    } catch (e) {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
      throw e;
    }
  }
}
