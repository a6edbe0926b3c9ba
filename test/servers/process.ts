/**
 * Child processes for test servers: spawn, keep the last output for error messages,
 * stop, and make sure nothing outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** A spawned server process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** The last ~64 KB of stdout+stderr (for error messages). */
  output(): string;
  /** Exit code (or signal name) once the process has exited; null while it runs. */
  exitStatus(): string | null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once it has exited. */
  stop(opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
}

const MAX_OUTPUT = 64 * 1024;
const live = new Set<ChildProcess>();
const dirsToRemove = new Set<string>();
let exitHookInstalled = false;

/** Kills (SIGKILL, synchronously) every child still running and removes registered temp folders. */
function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of dirsToRemove) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  dirsToRemove.clear();
}

/**
 * Registers a temp folder to delete if this process exits before the server is stopped.
 * Returns a function that unregisters it (call it once the folder has been removed).
 */
export function removeOnExit(dir: string): () => void {
  installExitHook();
  dirsToRemove.add(dir);
  return () => dirsToRemove.delete(dir);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Let the default behaviour (or other listeners) take over.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Starts `command` with `args`. Output is captured, the process does not keep the event
 * loop alive, and it is killed when this process exits (exit hook, signals, and a
 * watchdog that fires even if this process is SIGKILLed).
 */
export function spawnServer(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ServerProcess {
  installExitHook();
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  let buf = '';
  const append = (chunk: Buffer): void => {
    buf += chunk.toString('utf8');
    if (buf.length > MAX_OUTPUT) buf = buf.slice(buf.length - MAX_OUTPUT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let status: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal ?? String(code);
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      append(Buffer.from(`spawn error: ${err.message}\n`));
      status = `error: ${err.message}`;
      live.delete(child);
      resolve();
    });
  });

  const watchdog = child.pid !== undefined ? startWatchdog(child.pid) : undefined;
  void exited.then(() => watchdog?.kill('SIGKILL'));

  // Do not keep the test process alive because of a server.
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  return {
    child,
    output: () => buf,
    exitStatus: () => status,
    exited,
    async stop({ signal = 'SIGTERM', graceMs = 3000 } = {}) {
      if (status !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A `sh` that blocks reading a pipe from this process; when this process dies (even by
 * SIGKILL) the pipe closes and it kills `pid`. Killed itself when the server exits.
 */
function startWatchdog(pid: number): ChildProcess | undefined {
  try {
    const dog = spawn('/bin/sh', ['-c', `read _ ; kill -9 ${pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    dog.on('error', () => undefined);
    dog.stdin?.on('error', () => undefined);
    live.add(dog);
    dog.once('exit', () => live.delete(dog));
    dog.unref();
    (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return dog;
  } catch {
    return undefined;
  }
}
