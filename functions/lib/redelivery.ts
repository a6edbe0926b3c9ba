/**
 * Honour Retry-After (iCloud sends 503 with Retry-After: 120), else back off with the number
 * of receives: 30 s, 60 s, 120 s … up to 15 minutes.
 */
export function redeliveryDelaySeconds(retryAfterSeconds: number | undefined, receiveCount: number): number {
  const backoff = Math.min(900, 30 * 2 ** Math.max(0, receiveCount - 1));
  return Math.min(43_200, Math.max(1, retryAfterSeconds ?? backoff));
}

