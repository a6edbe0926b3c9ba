/**
 * Encrypts an app-specific password for one account. The ciphertext is bound to the account:
 * decrypting it under another account id fails. Ciphertexts are base64 strings.
 */
export interface CredentialCipher {
  encrypt(plaintext: string, accountId: string): Promise<string>;
  decrypt(ciphertext: string, accountId: string): Promise<string>;
}

/** The KMS encryption context (and the local cipher's additional data) for an account. */
export const encryptionContext = (accountId: string) => ({ accountId });
