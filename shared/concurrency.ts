/**
 * Runs `fn` over `items` with at most `limit` running at once; results keep input order. If
 * one call throws, no further item is started and the first error is thrown once the calls
 * already running have finished — nothing keeps running after this returns.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** A gate shared by several callers: at most `limit` of the calls given to it run at once. */
export interface Limiter {
  <R>(fn: () => Promise<R>): Promise<R>;
  /** Whether a call given now would have to wait for a slot. */
  full(): boolean;
  /** Resolves once no call runs or waits (at once, on the next turn, when none does now). */
  whenIdle(): Promise<void>;
}

export function limiter(limit: number): Limiter {
  let running = 0;
  const waiting: Array<() => void> = [];
  const idle: Array<() => void> = [];
  const gate = async <R>(fn: () => Promise<R>): Promise<R> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next(); // the slot passes straight to the next caller
      else if (--running === 0) for (const resolve of idle.splice(0)) resolve();
    }
  };
  return Object.assign(gate, {
    full: () => running >= limit,
    whenIdle: () =>
      new Promise<void>((resolve) => {
        if (running === 0) setImmediate(resolve);
        else idle.push(resolve);
      }),
  });
}
