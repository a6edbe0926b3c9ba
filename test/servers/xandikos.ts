/**
 * A real Xandikos server (no auth of its own) behind a Basic-auth proxy.
 * Layout created by `--defaults`: principal `/user/`, calendar home `/user/calendars/`,
 * one calendar `/user/calendars/calendar/` (VEVENT, VTODO, VJOURNAL, VFREEBUSY).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { removeOnExit, spawnServer } from './process.js';
import { startProxy, type BasicCredentials, type Proxy } from './proxy.js';
import type { CaldavServer } from './radicale.js';

export const XANDIKOS_BIN = '/usr/bin/xandikos';

export interface XandikosServer extends CaldavServer {
  /** The Basic-auth proxy in front (request log, fault injection). `url` is its URL. */
  proxy: Proxy;
  /** Xandikos itself, without auth. */
  backendUrl: string;
  principalPath: '/user/';
  calendarHomePath: '/user/calendars/';
  /** The calendar created by `--defaults`. */
  calendarPath: '/user/calendars/calendar/';
}

/**
 * Starts Xandikos on a free port and a Basic-auth proxy in front of it. Requests without
 * the right credentials get 401 `WWW-Authenticate: Basic realm="test"`. Xandikos knows a
 * single user: `setPassword(user, password)` replaces the accepted username and password.
 */
export async function startXandikos(opts: { username: string; password: string; timeoutMs?: number }): Promise<XandikosServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xandikos-'));
  const forgetDir = removeOnExit(dir);
  const port = await freePort();
  const proc = spawnServer(XANDIKOS_BIN, ['-d', dir, '--defaults', '-l', '127.0.0.1', '-p', String(port)], { cwd: dir, env: { HOME: dir } });
  try {
    await waitForPort(port, { timeoutMs: opts.timeoutMs ?? 15_000, proc, name: 'xandikos' });
  } catch (err) {
    await proc.stop({ signal: 'SIGKILL' });
    await rm(dir, { recursive: true, force: true });
    forgetDir();
    throw err;
  }

  let creds: BasicCredentials = { username: opts.username, password: opts.password };
  const backendUrl = `http://127.0.0.1:${port}`;
  const proxy = await startProxy({ target: backendUrl, requireBasic: () => creds });
  let stopped = false;

  return {
    url: proxy.url,
    port: proxy.port,
    dir,
    proxy,
    backendUrl,
    principalPath: '/user/',
    calendarHomePath: '/user/calendars/',
    calendarPath: '/user/calendars/calendar/',
    async setPassword(username, password) {
      creds = { username, password };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proxy.stop();
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
      forgetDir();
    },
  };
}
