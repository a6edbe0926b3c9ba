/**
 * A real Radicale 3 server for integration tests: htpasswd users, pre-created calendars,
 * a temp folder, 127.0.0.1 on a free port.
 */
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { removeOnExit, spawnServer, type ServerProcess } from './process.js';

/** Always this binary: the `python3` first on PATH lacks bcrypt. */
export const RADICALE_BIN = '/usr/bin/radicale';

/** A calendar (or VTODO list) to create before the server starts. */
export interface CalendarSpec {
  /** Folder name: the calendar lives at `/<user>/<slug>/`. */
  slug: string;
  displayName: string;
  /** Supported components; default `['VEVENT']`. `['VTODO']` makes a Reminders-style list. */
  components?: string[];
  /**
   * Shared to its user read-only (iCloud's "view only" sharing): the user may read it (its
   * current-user-privilege-set says read) but not write; every other user may write it (the
   * one who shared it).
   */
  readOnly?: boolean;
}

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
  const htpasswd = path.join(dir, 'users');
  const configFile = path.join(dir, 'config');
  const storage = path.join(dir, 'collections');
  const timeoutMs = opts.timeoutMs ?? 15_000;

  const writeUsers = async (): Promise<void> => {
    // Write then rename, so Radicale (which re-reads the file on every login) never sees half a file.
    const body = [...users].map(([u, p]) => `${u}:${p}\n`).join('');
    const tmp = `${htpasswd}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, htpasswd);
  };

  await writeUsers();
  // owner_only's rules, written out, with the read-only calendars first (the first match wins).
  const readOnly = [...users.keys()].flatMap((user) => (opts.calendars?.[user] ?? []).filter((c) => c.readOnly).map((c) => ({ user, slug: c.slug })));
  const rightsFile = path.join(dir, 'rights');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await writeFile(
    rightsFile,
    [
      ...readOnly.flatMap(({ user, slug }, i) => [
        `[read-only-${i}]`, `user: ${escape(user)}`, `collection: ${escape(user)}/${escape(slug)}`, 'permissions: r',
        `[shared-by-${i}]`, 'user: .+', `collection: ${escape(user)}/${escape(slug)}`, 'permissions: rw',
      ]),
      '[root]', 'user: .+', 'collection:', 'permissions: R',
      '[principal]', 'user: .+', 'collection: {user}', 'permissions: RW',
      '[calendars]', 'user: .+', 'collection: {user}/[^/]+', 'permissions: rw',
      '',
    ].join('\n'),
  );
  await writeFile(
    configFile,
    [
      '[server]',
      `hosts = 127.0.0.1:${port}`,
      '[auth]',
      'type = htpasswd',
      `htpasswd_filename = ${htpasswd}`,
      'htpasswd_encryption = plain',
      'delay = 0',
      '[rights]',
      ...(readOnly.length ? ['type = from_file', `file = ${rightsFile}`] : ['type = owner_only']),
      '[storage]',
      `filesystem_folder = ${storage}`,
      '[web]',
      'type = none',
      '[logging]',
      'level = warning',
      'mask_passwords = True',
      '',
    ].join('\n'),
  );
  for (const user of users.keys()) {
    for (const cal of opts.calendars?.[user] ?? DEFAULT_CALENDARS) {
      const calDir = path.join(storage, 'collection-root', user, cal.slug);
      await mkdir(calDir, { recursive: true });
      const props = {
        tag: 'VCALENDAR',
        'C:supported-calendar-component-set': (cal.components ?? ['VEVENT']).join(','),
        'D:displayname': cal.displayName,
      };
      await writeFile(path.join(calDir, '.Radicale.props'), JSON.stringify(props));
    }
  }

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
      await writeUsers();
    },
    async removeUser(user) {
      users.delete(user);
      await writeUsers();
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
