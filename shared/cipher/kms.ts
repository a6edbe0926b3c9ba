import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { encryptionContext, type CredentialCipher } from './port.js';

/** KMS adapter: the key id comes from config, the encryption context binds to the account. */
export function kmsCipher(kms: KMSClient, keyId: string): CredentialCipher {
  return {
    async encrypt(plaintext, accountId) {
      const out = await kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext, 'utf8'), EncryptionContext: encryptionContext(accountId) }),
      );
      if (!out.CiphertextBlob) throw new Error('KMS returned no ciphertext');
      return Buffer.from(out.CiphertextBlob).toString('base64');
    },
    async decrypt(ciphertext, accountId) {
      const out = await kms.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: Buffer.from(ciphertext, 'base64'),
          EncryptionContext: encryptionContext(accountId),
        }),
      );
      if (!out.Plaintext) throw new Error('KMS returned no plaintext');
      return Buffer.from(out.Plaintext).toString('utf8');
    },
  };
}
