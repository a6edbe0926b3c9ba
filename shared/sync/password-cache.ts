import type { CredentialCipher } from '../cipher/port.js';

/**
 * Decrypted app-specific passwords, in memory only, for a few minutes: at most one Decrypt
 * per account and ciphertext per window in a warm container (concurrent callers share one
 * call). Keyed by ciphertext, so a reconnect with a new password is never served the old one.
 * Never logged, never serialised.
 */
export class PasswordCache {
  private readonly entries = new Map<string, { expires: number; value: Promise<string> }>();

  constructor(
    private readonly cipher: CredentialCipher,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(accountId: string, ciphertext: string): Promise<string> {
    const key = `${accountId}\n${ciphertext}`;
    const hit = this.entries.get(key);
    if (hit && hit.expires > this.now()) return hit.value;
    this.prune();
    const value = this.cipher.decrypt(ciphertext, accountId);
    this.entries.set(key, { expires: this.now() + this.ttlMs, value });
    value.catch(() => this.entries.delete(key));
    return value;
  }

  /** Forget an account's password (its credentials were rejected). */
  forget(accountId: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${accountId}\n`)) this.entries.delete(key);
  }

  private prune() {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
  }
}
