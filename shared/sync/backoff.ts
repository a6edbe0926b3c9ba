/** Growing backoff stops growing here; the sweeper takes over long outages. */
const MAX_BACKOFF_SECONDS = 900;

/**
 * Seconds to wait before trying a change again, after `attempt` transient failures (1, 2, …):
 * `base`, 2×, 4× … up to 15 minutes, plus up to 20 % jitter so a burst of changes doesn't come
 * back at once — and never sooner than the server's `Retry-After`, however long (the booking
 * record keeps the due time; SQS's 12-hour visibility limit is the handler's business). iCloud's
 * Retry-After is often shorter than its real throttle, so the backoff keeps growing past it.
 */
export function retryDelaySeconds(opts: { attempt: number; baseSeconds: number; retryAfterSeconds?: number; random?: () => number }): number {
  const backoff = Math.min(MAX_BACKOFF_SECONDS, opts.baseSeconds * 2 ** Math.max(0, opts.attempt - 1));
  const jittered = backoff * (1 + 0.2 * (opts.random ?? Math.random)());
  return Math.ceil(Math.max(opts.retryAfterSeconds ?? 0, jittered));
}
