// The counting proxy (test/servers/proxy.ts) in a process of its own, driven over IPC. In the
// benchmark's own process its work, and the delays it adds, would wait behind whatever the
// handler keeps the event loop busy with; a real network does not.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SeenRequest {
  method: string;
  status: number;
}

type Command = { id: number; op: 'reset' | 'requests' | 'delay' | 'stop'; ms?: number };
type Answer = { id: number; requests?: SeenRequest[]; error?: string };
type Reply = Answer | { ready: string } | { failed: string };

export interface RemoteProxy {
  url: string;
  /** Forgets the requests seen so far. */
  reset(): Promise<void>;
  /** Method and status of every request forwarded since the last reset, in order. */
  requests(): Promise<SeenRequest[]>;
  /** Waits this long before forwarding every request (0: no delay). */
  setDelay(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRemoteProxy(target: string): Promise<RemoteProxy> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', target], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const pending = new Map<number, (reply: Answer) => void>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`proxy process exited (${code}) before it was ready`)));
    child.on('message', (msg: Reply) => {
      if ('ready' in msg) resolve(msg.ready);
      else if ('failed' in msg) reject(new Error(`proxy process: ${msg.failed}`));
      else {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    });
  });
  child.removeAllListeners('exit');
  const call = (op: Command['op'], ms?: number) =>
    new Promise<Answer>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (r) => (r.error ? reject(new Error(r.error)) : resolve(r)));
      child.send({ id, op, ms } satisfies Command);
    });
  return {
    url,
    reset: async () => void (await call('reset')),
    requests: async () => (await call('requests')).requests ?? [],
    setDelay: async (ms) => void (await call('delay', ms)),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      await call('stop').catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---- the child -------------------------------------------------------------------------------

async function child(target: string) {
  const { startProxy } = await import('../test/servers/proxy.js');
  let delayMs = 0;
  const proxy = await startProxy({ target, onRequest: () => (delayMs ? { delayMs } : undefined) });
  // The parent gone (even killed): nothing left behind.
  process.on('disconnect', () => void proxy.stop().finally(() => process.exit(0)));
  process.on('message', async (cmd: Command) => {
    try {
      if (cmd.op === 'reset') proxy.reset();
      else if (cmd.op === 'delay') delayMs = cmd.ms ?? 0;
      else if (cmd.op === 'requests') return process.send!({ id: cmd.id, requests: proxy.requests.map((r) => ({ method: r.method, status: r.status })) });
      else if (cmd.op === 'stop') {
        await proxy.stop();
        process.send!({ id: cmd.id }, () => process.exit(0));
        return;
      }
      process.send!({ id: cmd.id });
    } catch (err) {
      process.send!({ id: cmd.id, error: (err as Error).message });
    }
  });
  process.send!({ ready: proxy.url });
}

if (process.argv[2] === '--child') {
  child(process.argv[3]!).catch((err: unknown) => {
    process.send?.({ failed: (err as Error).message });
    process.exit(1);
  });
}
