/**
 * Time budgets for a request that must answer before its Lambda is stopped: everything is
 * derived from the remaining time the runtime reports, minus a margin for answering.
 */
export interface Deadline {
  /** ms since epoch by which the answer must be on its way. */
  at: number;
  /** ms left until `at - reserveMs` (0 when passed). */
  left(reserveMs?: number): number;
}

/** Kept back for answering (serialising the response, API Gateway's hand-off). */
export const ANSWER_MARGIN_MS = 1_500;

export function deadlineFrom(remainingMs: number | undefined, now: () => number = Date.now, fallbackMs = 25_000): Deadline {
  const at = now() + Math.max(0, (Number.isFinite(remainingMs) && remainingMs! > 0 ? remainingMs! : fallbackMs) - ANSWER_MARGIN_MS);
  return { at, left: (reserveMs = 0) => Math.max(0, at - reserveMs - now()) };
}

/** Resolves `undefined` after `ms` (never rejects), or the promise's value if it settles first. */
export async function within<T>(ms: number, work: Promise<T>): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
