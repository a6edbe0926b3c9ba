/**
 * A real Radicale 3 server for integration tests: htpasswd users, pre-created calendars,
 * a temp folder, 127.0.0.1 on a free port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { removeOnExit, spawnServer, type ServerProcess } from './process.js';
import { radicalePaths, writeRadicaleFiles, writeUsers, type CalendarSpec } from '../../local/radicale.js';

/** Always this binary: the `python3` first on PATH lacks bcrypt. */
export const RADICALE_BIN = '/usr/bin/radicale';

export type { CalendarSpec };

/** What every CalDAV test server offers. */
export interface CaldavServer {
  /** Base URL, `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  /** Temp folder holding config and data. */
  dir: string;
  /** Sets (or adds) a user's password; the old password stops working at once. */
  setPassword(user: string, password: string): Promise<void>;
  /** Stops the server and deletes its temp folder. */
  stop(): Promise<void>;
}

export interface RadicaleServer extends CaldavServer {
  /** Removes a user from htpasswd (its data stays); its requests then get 401. */
  removeUser(user: string): Promise<void>;
  /** Stops (if running) and starts again on the same port with the same data. */
  restart(): Promise<void>;
  /** SIGKILLs the server but keeps port and data, so `restart()` can bring it back. */
  kill(): Promise<void>;
  /** Path of a user's calendar, e.g. `/alice/home/`. Radicale's principal and calendar home are both `/<user>/`. */
  calendarPath(user: string, slug?: string): string;
}

export interface StartRadicaleOptions {
  /** username -> password (plain htpasswd). */
  users: Record<string, string>;
  /** Calendars per user; a user not listed gets one `{ slug: 'home', displayName: 'Home' }`. */
  calendars?: Record<string, CalendarSpec[]>;
  /** Readiness timeout; default 15 s. */
  timeoutMs?: number;
}

const DEFAULT_CALENDARS: CalendarSpec[] = [{ slug: 'home', displayName: 'Home' }];

/** Starts Radicale with htpasswd auth (`delay = 0`), `owner_only` rights and quiet logging. */
export async function startRadicale(opts: StartRadicaleOptions): Promise<RadicaleServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'radicale-'));
  const forgetDir = removeOnExit(dir);
  const port = await freePort();
  const users = new Map(Object.entries(opts.users));
  const { config: configFile, htpasswd } = radicalePaths(dir);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const writeAllUsers = () => writeUsers(htpasswd, Object.fromEntries(users));
  await writeRadicaleFiles({ dir, port, users: opts.users, calendars: Object.fromEntries([...users.keys()].map((u) => [u, opts.calendars?.[u] ?? DEFAULT_CALENDARS])) });

  let proc: ServerProcess | undefined;
  let stopped = false;

  const start = async (): Promise<void> => {
    proc = spawnServer(RADICALE_BIN, ['--config', configFile], { cwd: dir, env: { HOME: dir } });
    try {
      await waitForPort(port, { timeoutMs, proc, name: 'radicale' });
    } catch (err) {
      await proc.stop({ signal: 'SIGKILL' });
      throw err;
    }
  };

  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    forgetDir();
    throw err;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    calendarPath: (user, slug = 'home') => `/${encodeURIComponent(user)}/${slug}/`,
    async setPassword(user, password) {
      users.set(user, password);
      await writeAllUsers();
    },
    async removeUser(user) {
      users.delete(user);
      await writeAllUsers();
    },
    async restart() {
      if (stopped) throw new Error('radicale: restart() after stop()');
      await proc?.stop();
      await start();
    },
    async kill() {
      await proc?.stop({ signal: 'SIGKILL' });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc?.stop();
      await rm(dir, { recursive: true, force: true });
      forgetDir();
    },
  };
}
