/** Free ports on 127.0.0.1 and waiting for a server to accept connections. */
import net from 'node:net';
import type { ServerProcess } from './process.js';

/** Asks the OS for a free TCP port on 127.0.0.1 (binds port 0, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

/** Resolves true if a TCP connection to 127.0.0.1:port succeeds. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

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
