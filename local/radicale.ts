/**
 * A Radicale (Debian's `radicale` package) on 127.0.0.1 with htpasswd users and pre-created
 * calendars: the CalDAV server of `npm run demo`, and the config the tests' Radicale uses.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canConnect } from './ports.js';

/** A calendar (or VTODO list) created before the server starts, at `/<user>/<slug>/`. */
export interface CalendarSpec {
  slug: string;
  displayName: string;
  /** Supported components; default `['VEVENT']`. `['VTODO']` makes a Reminders-style list. */
  components?: string[];
  /** The owner may read it but not write to it (like a calendar shared to them read-only). */
  readOnly?: boolean;
}

export interface RadicaleLayout {
  dir: string;
  port: number;
  /** username → password (plain htpasswd). */
  users: Record<string, string>;
  calendars: Record<string, CalendarSpec[]>;
}

export const radicalePaths = (dir: string) => ({ config: path.join(dir, 'config'), htpasswd: path.join(dir, 'users'), storage: path.join(dir, 'collections'), rights: path.join(dir, 'rights') });

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Writes the config (htpasswd auth without the 1 s penalty, owner-only rights — as a rights
 * file with read-only rules first when a calendar is read-only — quiet logs), the users and
 * the calendars that don't exist yet (`.Radicale.props` as Radicale writes them).
 */
export async function writeRadicaleFiles(layout: RadicaleLayout): Promise<void> {
  const p = radicalePaths(layout.dir);
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  const readOnly = Object.entries(layout.calendars).flatMap(([user, cals]) => cals.filter((c) => c.readOnly).map((c) => ({ user, slug: c.slug })));
  if (readOnly.length) {
    const rules = [
      ...readOnly.map((r, i) => `[read-only-${i}]\nuser: ${escapeRegex(r.user)}\ncollection: ${escapeRegex(r.user)}/${escapeRegex(r.slug)}(/.*)?\npermissions: r\n`),
      '[root]\nuser: .+\ncollection:\npermissions: R\n',
      '[principal]\nuser: .+\ncollection: {user}\npermissions: RW\n',
      '[calendars]\nuser: .+\ncollection: {user}/[^/]+(/.*)?\npermissions: rw\n',
    ];
    await writeFile(p.rights, rules.join('\n'));
  }
  await writeUsers(p.htpasswd, layout.users);
  const config = [
    '[server]',
    `hosts = 127.0.0.1:${layout.port}`,
    '[auth]',
    'type = htpasswd',
    `htpasswd_filename = ${p.htpasswd}`,
    'htpasswd_encryption = plain',
    'delay = 0',
    '[rights]',
    ...(readOnly.length ? ['type = from_file', `file = ${p.rights}`] : ['type = owner_only']),
    '[storage]',
    `filesystem_folder = ${p.storage}`,
    '[web]',
    'type = none',
    '[logging]',
    'level = warning',
    'mask_passwords = True',
    '',
  ];
  await writeFile(p.config, config.join('\n'));
  for (const [user, cals] of Object.entries(layout.calendars)) {
    for (const cal of cals) {
      const calDir = path.join(p.storage, 'collection-root', user, cal.slug);
      await mkdir(calDir, { recursive: true });
      const props = { tag: 'VCALENDAR', 'C:supported-calendar-component-set': (cal.components ?? ['VEVENT']).join(','), 'D:displayname': cal.displayName };
      await writeFile(path.join(calDir, '.Radicale.props'), JSON.stringify(props), { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }
}

/** Writes the htpasswd file whole (write, then rename: Radicale re-reads it on every login). */
export async function writeUsers(file: string, users: Record<string, string>): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, Object.entries(users).map(([u, pw]) => `${u}:${pw}\n`).join(''));
  await rename(tmp, file);
}

/**
 * Starts Radicale on the layout's folder and port and waits until it accepts connections
 * (15 s at most). `stop()` sends SIGTERM (SIGKILL after 3 s) and resolves once it exited.
 */
export async function startRadicaleProcess(bin: string, layout: RadicaleLayout) {
  await writeRadicaleFiles(layout);
  const child = spawn(bin, ['--config', radicalePaths(layout.dir).config], { cwd: layout.dir, env: { ...process.env, HOME: layout.dir, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(layout.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`radicale did not start on 127.0.0.1:${layout.port}: ${output.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${layout.port}`, stop };
}
