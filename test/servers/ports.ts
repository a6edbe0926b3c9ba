/** Free ports on 127.0.0.1 and waiting for a server to accept connections. */
import { canConnect, freePort } from '../../local/ports.js';
import type { ServerProcess } from './process.js';

export { freePort };

/**
 * Polls 127.0.0.1:port until it accepts a TCP connection. Fails after `timeoutMs`
 * (default 15 s), or at once if `proc` exits first; the error includes `proc`'s output.
 */
export async function waitForPort(port: number, opts: { timeoutMs?: number; proc?: ServerProcess; name?: string } = {}): Promise<void> {
  const { timeoutMs = 15_000, proc, name = 'server' } = opts;
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    if (proc && proc.exitStatus() !== null) {
      throw new Error(`${name} exited (${proc.exitStatus()}) before listening on port ${port}. Output:\n${proc.output()}`);
    }
    if (await canConnect(port)) return;
    if (Date.now() >= deadline) {
      const out = proc ? ` Output:\n${proc.output()}` : '';
      throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms.${out}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}
