/** Awaits a condition on the system's state (checked every `everyMs`), failing after `ms`; resolves with its value. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
