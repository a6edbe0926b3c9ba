import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { kmsCipher } from '../../shared/cipher/kms.js';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const BLOB = new Uint8Array([1, 2, 3, 250, 251, 252]);

const kms = mockClient(KMSClient);
afterAll(() => kms.restore());

describe('kmsCipher', () => {
  beforeEach(() => {
    kms.reset();
  });

  it('encrypts with the configured key and the account as encryption context; returns base64', async () => {
    kms.on(EncryptCommand).resolves({ CiphertextBlob: BLOB, KeyId: KEY });
    const out = await kmsCipher(new KMSClient({}), KEY).encrypt(PASSWORD, 'account-a');
    expect(out).toBe(Buffer.from(BLOB).toString('base64'));

    const calls = kms.commandCalls(EncryptCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(Object.keys(input).sort()).toEqual(['EncryptionContext', 'KeyId', 'Plaintext']);
    expect(input.KeyId).toBe(KEY);
    expect(input.EncryptionContext).toEqual({ accountId: 'account-a' });
    expect(Buffer.from(input.Plaintext!).toString('utf8')).toBe(PASSWORD);
  });

  it('decrypts with the same key and encryption context, from base64', async () => {
    kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from(PASSWORD, 'utf8'), KeyId: KEY });
    const out = await kmsCipher(new KMSClient({}), KEY).decrypt(Buffer.from(BLOB).toString('base64'), 'account-a');
    expect(out).toBe(PASSWORD);

    const calls = kms.commandCalls(DecryptCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(Object.keys(input).sort()).toEqual(['CiphertextBlob', 'EncryptionContext', 'KeyId']);
    expect(input.KeyId).toBe(KEY);
    expect(input.EncryptionContext).toEqual({ accountId: 'account-a' });
    expect(Buffer.from(input.CiphertextBlob!).equals(Buffer.from(BLOB))).toBe(true);
  });

  it('binds to the account: decrypting under another account asks KMS with that account and fails', async () => {
    // KMS refuses when the encryption context differs from the one used to encrypt.
    kms
      .on(DecryptCommand, { EncryptionContext: { accountId: 'account-a' } })
      .resolves({ Plaintext: Buffer.from(PASSWORD) })
      .on(DecryptCommand, { EncryptionContext: { accountId: 'account-b' } })
      .rejects(Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' }));
    const cipher = kmsCipher(new KMSClient({}), KEY);
    const ct = Buffer.from(BLOB).toString('base64');
    await expect(cipher.decrypt(ct, 'account-b')).rejects.toThrow(/InvalidCiphertext/);
    await expect(cipher.decrypt(ct, 'account-a')).resolves.toBe(PASSWORD);
    expect(kms.commandCalls(DecryptCommand).map((c) => c.args[0].input.EncryptionContext)).toEqual([{ accountId: 'account-b' }, { accountId: 'account-a' }]);
  });

  it('fails rather than store or return nothing when KMS answers without data', async () => {
    kms.on(EncryptCommand).resolves({});
    kms.on(DecryptCommand).resolves({});
    const cipher = kmsCipher(new KMSClient({}), KEY);
    await expect(cipher.encrypt(PASSWORD, 'account-a')).rejects.toThrow(/no ciphertext/);
    await expect(cipher.decrypt('AQID', 'account-a')).rejects.toThrow(/no plaintext/);
  });
});
