// dynalite (local/dynamo.ts) in a process of its own, for the main stack of the benchmark.
// In Lambda, DynamoDB is a service on the network: its work does not run on the handler's CPU.
// In this process it would (~3.4 ms of CPU a call, on the handler's event loop, while the
// calendar requests wait behind it), so the figures would charge the sync path for the
// database's own work.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RemoteDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startRemoteDynamo(): Promise<RemoteDynamo> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite process exited (${code}) before it was ready`)));
    child.once('message', (msg: { ready?: string; failed?: string }) => (msg.ready ? resolve(msg.ready) : reject(new Error(`dynalite process: ${msg.failed}`))));
  });
  child.removeAllListeners('exit');
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---- the child -------------------------------------------------------------------------------

async function child() {
  const { startDynalite } = await import('../local/dynamo.js');
  const dynamo = await startDynalite();
  const stop = () => void dynamo.stop().finally(() => process.exit(0));
  // The parent gone (even killed): nothing left behind.
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.send!({ ready: dynamo.endpoint });
}

if (process.argv[2] === '--child') {
  child().catch((err: unknown) => {
    process.send?.({ failed: (err as Error).message });
    process.exit(1);
  });
}
