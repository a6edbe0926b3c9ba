/**
 * `npm run demo` as a newcomer runs it, in its own process: it starts Radicale and the local
 * stack, connects the demo account, writes three sample bookings and prints the dashboard
 * URL; Ctrl-C (SIGINT) stops everything it started. Without Radicale it says how to install
 * it and exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { canConnect } from '../../local/ports.js';
import { readWithPython } from '../harness/python-ical.js';
import { freePort } from '../servers/ports.js';

const dataDir = mkdtempSync(join(tmpdir(), 'demo-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function runDemo(env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/demo.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  /** Resolves with the first match of `re` in stdout; rejects if the process exits first. */
  const printed = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = stdout.match(re);
        if (m) {
          proc.stdout!.off('data', check);
          resolve(m);
        }
      };
      proc.stdout!.on('data', check);
      check();
      void exited.then(([code]) => reject(new Error(`demo exited (${code}) before printing ${re}:\n${stdout}\n${stderr}`)));
    });
  return { proc, printed, exited, output: () => ({ stdout, stderr }) };
}

it('starts Radicale and the stack, writes the sample bookings (one with a meeting link), prints the dashboard URL; Ctrl-C stops everything', { timeout: 90_000 }, async () => {
  const [port, sqsPort] = [await freePort(), await freePort()];
  const demo = runDemo({ PORT: String(port), SQS_PORT: String(sqsPort), LOCAL_DATA_DIR: dataDir, SWEEP_INTERVAL_SECONDS: '60' });
  child = demo.proc;
  const [, dashboard] = await demo.printed(/Dashboard: (\S+)/);
  expect(dashboard).toBe(`http://127.0.0.1:${port}/?user=demo&details=open`);
  expect(demo.output().stdout).toContain('3 of 3 written');
  const radicalePort = Number((await demo.printed(/Radicale at http:\/\/127\.0\.0\.1:(\d+)/))[1]);

  // The events are in the demo calendar's files under LOCAL_DATA_DIR, read by python-icalendar.
  const home = join(dataDir, 'demo-caldav', 'collections', 'collection-root', 'demo@example.com', 'home');
  const events = readdirSync(home).filter((n) => n.endsWith('.ics')).map((n) => readWithPython(readFileSync(join(home, n), 'utf8')));
  expect(events).toHaveLength(3);
  expect(events.filter((e) => e.url === 'https://meet.example.com/demo-intro-call')).toHaveLength(1);

  // The dashboard page and the API answer for the demo account.
  expect((await fetch(dashboard!)).status).toBe(200);
  const { token } = (await (await fetch(`http://127.0.0.1:${port}/local/token?user=demo`)).json()) as { token: string };
  const details = (await (await fetch(`http://127.0.0.1:${port}/integrations/apple-calendar`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
  expect(details).toMatchObject({ status: 'active', appleId: 'demo@example.com', calendar: { name: 'Home' }, lastSync: { outcome: 'ok' }, pendingChanges: 0 });
  expect(details.calendars.map((c: any) => [c.name, c.writable])).toEqual([
    ['Home', true],
    ['Team (shared with you, read-only)', false],
    ['Work', true],
  ]);

  demo.proc.kill('SIGINT');
  const [code] = await demo.exited;
  expect(code).toBe(0);
  for (const p of [port, sqsPort, radicalePort]) expect(await canConnect(p)).toBe(false);
});

it('run again on the same LOCAL_DATA_DIR: the same connection, the sample bookings rewritten in place (still three events)', { timeout: 90_000 }, async () => {
  const demo = runDemo({ PORT: String(await freePort()), SQS_PORT: String(await freePort()), LOCAL_DATA_DIR: dataDir });
  child = demo.proc;
  await demo.printed(/Dashboard: (\S+)/);
  expect(demo.output().stdout).toContain('3 of 3 written');
  const home = join(dataDir, 'demo-caldav', 'collections', 'collection-root', 'demo@example.com', 'home');
  expect(readdirSync(home).filter((n) => n.endsWith('.ics'))).toHaveLength(3);
  demo.proc.kill('SIGINT');
  expect((await demo.exited)[0]).toBe(0);
});

it('without Radicale: the exact apt-get command, exit code 1, nothing started', async () => {
  const port = await freePort();
  const demo = runDemo({ PORT: String(port), LOCAL_DATA_DIR: dataDir, RADICALE_BIN: join(dataDir, 'no-such-radicale') });
  const [code] = await demo.exited;
  expect(code).toBe(1);
  expect(demo.output().stderr).toContain('\n  apt-get install -y radicale\n');
  expect(await canConnect(port)).toBe(false);
});
