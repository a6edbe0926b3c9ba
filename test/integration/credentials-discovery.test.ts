/**
 * Connect's CalDAV discovery against real servers: Radicale, Xandikos behind Basic auth and
 * the iCloud-shaped two-host front, plus the failures connect must map to the contract's
 * codes. Requests are counted at proxies in front of the servers.
 */
import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCipher } from '../../shared/cipher/local.js';
import { discoverCalendar, NoCalendarError, type Discovery } from '../../shared/caldav/discovery.js';
import { CaldavError } from '../../shared/caldav/transport.js';
import { connect, type ConnectionDeps } from '../../shared/connection/connect.js';
import { DomainError } from '../../shared/errors.js';
import { AttemptStore, CONNECT_LIMIT } from '../../shared/store/attempts.js';
import { localAppleIdMac } from '../../shared/connection/apple-id-mac.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { detailsOf } from '../../shared/connection/details.js';
import { accountKey, appleIdKey, ATTEMPTS_SK, type Table } from '../../shared/store/table.js';
import { startTable } from '../harness/dynamo.js';
import { recordingLog } from '../harness/log.js';
import { startICloudLike, type ICloudLike } from '../servers/icloud.js';
import { SIM_HOSTS, startICloudSim, type ICloudSim } from '../servers/icloud-sim/index.js';
import { freePort } from '../servers/ports.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { startXandikos, type XandikosServer } from '../servers/xandikos.js';

/** Every test server listens on 127.0.0.1: the trusted host here. */
const LOCAL = SIM_HOSTS; // 127.0.0.1, and 127.0.0.2 where the simulator keeps its partition hosts

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const WRONG = 'wxyz-wxyz-wxyz-wxyz';
const ANN = 'ann@icloud.com'; // Home + a VTODO Reminders list that sorts first
const TODO_ONLY = 'todo@icloud.com'; // only a VTODO list
const MAX_DISCOVERY_REQUESTS = 4;

let radicale: RadicaleServer;
let radicaleProxy: Proxy; // counts requests to Radicale
let xandikos: XandikosServer; // its Basic-auth proxy counts
let icloud: ICloudLike;
let sim: ICloudSim; // the stricter iCloud simulator (issue #11)
let db: Awaited<ReturnType<typeof startTable>>;
let table: Table;
const counts: Record<string, number> = {};

beforeAll(async () => {
  [radicale, xandikos, db] = await Promise.all([
    startRadicale({
      users: { [ANN]: PASSWORD, [TODO_ONLY]: PASSWORD },
      calendars: {
        // 'a-reminders' sorts before 'home': only the VTODO filter keeps it from being chosen.
        [ANN]: [
          { slug: 'a-reminders', displayName: 'Reminders', components: ['VTODO'] },
          { slug: 'home', displayName: 'Home' },
        ],
        [TODO_ONLY]: [{ slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] }],
      },
    }),
    startXandikos({ username: ANN, password: PASSWORD }),
    startTable(),
  ]);
  table = db.table;
  [radicaleProxy, icloud, sim] = await Promise.all([startProxy({ target: radicale.url }), startICloudLike({ radicale }), startICloudSim({ radicale })]);
});

afterAll(async () => {
  console.log(`discovery requests at connect: ${JSON.stringify(counts)}`);
  await Promise.all([icloud?.stop(), radicaleProxy?.stop(), sim?.stop()]);
  await Promise.all([radicale?.stop(), xandikos?.stop(), db?.stop()]);
});

const creds = (username = ANN, password = PASSWORD) => ({ username, password });

let accounts = 0;
const newAccount = () => `account-${++accounts}`;

function deps(serverUrl: string, timeoutMs = 5_000) {
  const log = recordingLog();
  const d: ConnectionDeps = {
    connections: new ConnectionStore(table),
    limits: { accounts: new AttemptStore(table), appleIds: new AttemptStore(table, CONNECT_LIMIT, Date.now, appleIdKey), mac: localAppleIdMac(randomBytes(32)) },
    cipher: localCipher(randomBytes(32)),
    caldav: { serverUrl, timeoutMs, allowedHosts: LOCAL },
    log,
    details: (connection) => detailsOf({ bookings: new BookingStore(table) }, connection),
  };
  return { deps: d, log };
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (err: unknown) => err,
  );
}

async function storedAttempts(accountId: string): Promise<string[]> {
  const out = await table.doc.send(new GetCommand({ TableName: table.name, Key: { pk: accountKey(accountId), sk: ATTEMPTS_SK }, ConsistentRead: true }));
  return (out.Item?.attempts as string[] | undefined) ?? [];
}

function reportCount(server: string, d: Discovery, seen: number) {
  counts[server] = seen;
  console.log(`${server}: discovery made ${d.requests} requests (${seen} seen at the server's proxies)`);
}

describe('discovery on real servers', () => {
  it('Radicale: finds Home, never the VTODO-only Reminders list, in at most 4 requests', async () => {
    radicaleProxy.reset();
    const d = await discoverCalendar({ serverUrl: radicaleProxy.url, credentials: creds(), timeoutMs: 5_000, allowedHosts: LOCAL });
    expect(d.calendar).toEqual({ url: `${radicaleProxy.url}/ann%40icloud.com/home/`, name: 'Home' });
    expect(d.principalUrl).toBe(`${radicaleProxy.url}/ann%40icloud.com/`);
    expect(d.homeUrl).toBe(`${radicaleProxy.url}/ann%40icloud.com/`);
    expect(radicaleProxy.requests.every((r) => r.status === 207)).toBe(true);
    expect(d.requests).toBe(radicaleProxy.requests.length);
    expect(radicaleProxy.requests.length).toBeLessThanOrEqual(MAX_DISCOVERY_REQUESTS);
    reportCount('Radicale', d, radicaleProxy.requests.length);
  });

  it('Xandikos behind Basic auth: finds its calendar in at most 4 requests', async () => {
    xandikos.proxy.reset();
    const d = await discoverCalendar({ serverUrl: xandikos.url, credentials: creds(), timeoutMs: 5_000, allowedHosts: LOCAL });
    expect(d.calendar.url).toBe(`${xandikos.url}${xandikos.calendarPath}`);
    expect(d.homeUrl).toBe(`${xandikos.url}${xandikos.calendarHomePath}`);
    expect(xandikos.proxy.requests.every((r) => r.status === 207)).toBe(true);
    expect(d.requests).toBe(xandikos.proxy.requests.length);
    expect(xandikos.proxy.requests.length).toBeLessThanOrEqual(MAX_DISCOVERY_REQUESTS);
    reportCount('Xandikos', d, xandikos.proxy.requests.length);
  });

  it('iCloud-shaped: the calendar URL is on the partition host (B), not on caldav.icloud.com (A)', async () => {
    icloud.a.reset();
    icloud.b.reset();
    const d = await discoverCalendar({ serverUrl: icloud.url, credentials: creds(), timeoutMs: 5_000, allowedHosts: LOCAL });
    expect(d.calendar).toEqual({ url: `${icloud.partitionUrl}/ann%40icloud.com/home/`, name: 'Home' });
    expect(d.homeUrl.startsWith(`${icloud.partitionUrl}/`)).toBe(true);
    expect(d.calendar.url.startsWith(`${icloud.url}/`)).toBe(false);
    // A only answers the principal lookups; everything else happened on B, and nothing was refused.
    expect([...icloud.a.requests, ...icloud.b.requests].every((r) => r.status === 207)).toBe(true);
    expect(icloud.a.requests.length).toBeGreaterThanOrEqual(1);
    expect(icloud.b.requests.length).toBeGreaterThanOrEqual(1);
    const seen = icloud.a.requests.length + icloud.b.requests.length;
    expect(d.requests).toBe(seen);
    expect(seen).toBeLessThanOrEqual(MAX_DISCOVERY_REQUESTS);
    reportCount('iCloud-like', d, seen);
  });

  it('iCloud simulator: the calendar is on the partition host under /<dsid>/calendars/; no request refused', async () => {
    sim.reset();
    const d = await discoverCalendar({ serverUrl: sim.url, credentials: creds(), timeoutMs: 5_000, allowedHosts: SIM_HOSTS });
    expect(d.calendar).toEqual({ url: sim.calendarUrl(ANN, 'home'), name: 'Home' });
    expect(d.homeUrl).toBe(`${sim.partitionUrl}/${sim.dsid(ANN)}/calendars/`);
    expect(d.principalUrl).toBe(`${sim.url}/${sim.dsid(ANN)}/principal/`);
    expect(sim.requests.every((r) => r.status === 207)).toBe(true);
    expect(d.requests).toBe(sim.requests.length);
    expect(sim.requests.length).toBeLessThanOrEqual(MAX_DISCOVERY_REQUESTS);
    reportCount('iCloud simulator', d, sim.requests.length);
  });

  it('the calendar found on B is where events can be written (PUT through B succeeds)', async () => {
    const d = await discoverCalendar({ serverUrl: icloud.url, credentials: creds(), timeoutMs: 5_000, allowedHosts: LOCAL });
    const res = await fetch(`${d.calendar.url}discovery-check.ics`, {
      method: 'PUT',
      headers: { authorization: `Basic ${Buffer.from(`${ANN}:${PASSWORD}`).toString('base64')}`, 'content-type': 'text/calendar' },
      body: ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//t//EN', 'BEGIN:VEVENT', 'UID:discovery-check', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260301T100000Z', 'DTEND:20260301T110000Z', 'SUMMARY:x', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'),
    });
    expect(res.status).toBe(201);
  });

  it.each([
    ['Radicale', () => radicaleProxy.url],
    ['Xandikos', () => xandikos.url],
    ['iCloud-like (two WWW-Authenticate challenges)', () => icloud.url],
    ['iCloud simulator (empty 401, MMCalDav challenges)', () => sim.url],
  ])('%s: a wrong password is a CaldavError "unauthorized"', async (_name, url) => {
    const err = await rejectionOf(discoverCalendar({ serverUrl: url(), credentials: creds(ANN, WRONG), timeoutMs: 5_000, allowedHosts: LOCAL }));
    expect(err).toBeInstanceOf(CaldavError);
    expect(err).toMatchObject({ failure: 'unauthorized', status: 401 });
    expect(String((err as Error).message)).not.toContain(WRONG);
  });

  it('a user with only a VTODO list: NoCalendarError', async () => {
    const err = await rejectionOf(discoverCalendar({ serverUrl: radicale.url, credentials: creds(TODO_ONLY), timeoutMs: 5_000, allowedHosts: LOCAL }));
    expect(err).toBeInstanceOf(NoCalendarError);
  });
});

describe('connect (service) on real servers: stored calendar and error codes', () => {
  it.each([
    ['Radicale', () => radicaleProxy.url, () => `${radicaleProxy.url}/ann%40icloud.com/home/`],
    ['Xandikos', () => xandikos.url, () => `${xandikos.url}${xandikos.calendarPath}`],
    ['iCloud-like', () => icloud.url, () => `${icloud.partitionUrl}/ann%40icloud.com/home/`],
    ['iCloud simulator', () => sim.url, () => sim.calendarUrl(ANN, 'home')],
  ])('%s: connects, stores the discovered calendar URL and returns it', async (_name, url, calendarUrl) => {
    const { deps: d, log } = deps(url());
    const accountId = newAccount();
    const out = await connect(d, accountId, { appleId: ANN, appSpecificPassword: PASSWORD });
    expect(out.created).toBe(true);
    expect(out.details).toMatchObject({ status: 'active', appleId: ANN, calendar: { url: calendarUrl() } });
    const stored = await d.connections.get(accountId);
    expect(stored?.calendarUrl).toBe(calendarUrl());
    expect(await d.cipher.decrypt(stored!.ciphertext, accountId)).toBe(PASSWORD);
    const discovered = log.entries.find((e) => e.message === 'calendar discovered');
    expect((discovered?.attributes[0] as { requests: number }).requests).toBeLessThanOrEqual(MAX_DISCOVERY_REQUESTS);
    expect(log.text()).not.toContain(PASSWORD);
  });

  it('iCloud-like: the stored calendar URL is on B, even though connect was given A', async () => {
    const { deps: d } = deps(icloud.url);
    const accountId = newAccount();
    await connect(d, accountId, { appleId: ANN, appSpecificPassword: PASSWORD });
    const stored = await d.connections.get(accountId);
    expect(new URL(stored!.calendarUrl).port).toBe(String(icloud.b.port));
    expect(new URL(stored!.homeUrl).port).toBe(String(icloud.b.port));
    expect(new URL(stored!.calendarUrl).port).not.toBe(String(icloud.a.port));
  });

  it.each([
    ['Radicale', () => radicaleProxy.url],
    ['Xandikos', () => xandikos.url],
    ['iCloud-like (401 with two WWW-Authenticate challenges)', () => icloud.url],
    ['iCloud simulator (empty 401, MMCalDav challenges)', () => sim.url],
  ])('%s: a wrong password → invalid_credentials, pointing at app-specific passwords; counted as a rejected login', async (_name, url) => {
    const { deps: d, log } = deps(url());
    const accountId = newAccount();
    const err = await rejectionOf(connect(d, accountId, { appleId: ANN, appSpecificPassword: WRONG }));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'invalid_credentials' });
    expect((err as Error).message).toMatch(/app-specific password/);
    expect(await d.connections.get(accountId)).toBeUndefined();
    expect(await storedAttempts(accountId)).toHaveLength(1);
    expect(log.text()).not.toContain(WRONG);
  });

  it('403 on the principal (iCloud: Apple ID locked or CalDAV off) → invalid_credentials, counted as rejected', async () => {
    const proxy = await startProxy({ target: radicale.url });
    try {
      proxy.setFault((req) => (req.method === 'PROPFIND' && req.path !== '/' ? { status: 403 } : undefined));
      const { deps: d } = deps(proxy.url);
      const accountId = newAccount();
      const err = await rejectionOf(connect(d, accountId, { appleId: ANN, appSpecificPassword: PASSWORD }));
      expect(err).toMatchObject({ code: 'invalid_credentials' });
      expect(await storedAttempts(accountId)).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  it('no calendar that holds events (only a VTODO list) → no_calendar; nothing stored; not counted as rejected', async () => {
    const { deps: d } = deps(radicale.url);
    const accountId = newAccount();
    const err = await rejectionOf(connect(d, accountId, { appleId: TODO_ONLY, appSpecificPassword: PASSWORD }));
    expect(err).toMatchObject({ code: 'no_calendar' });
    expect(await d.connections.get(accountId)).toBeUndefined();
    expect(await storedAttempts(accountId)).toEqual([]);
  });
});

describe('connect (service): an unreachable, failing or slow server → calendar_unavailable', () => {
  /** Connect must fail with calendar_unavailable, store nothing, and not count a rejected login. */
  async function expectUnavailable(serverUrl: string, timeoutMs = 5_000) {
    const { deps: d, log } = deps(serverUrl, timeoutMs);
    const accountId = newAccount();
    const err = await rejectionOf(connect(d, accountId, { appleId: ANN, appSpecificPassword: PASSWORD }));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'calendar_unavailable' });
    expect(await d.connections.get(accountId)).toBeUndefined();
    expect(await storedAttempts(accountId)).toEqual([]);
    expect(log.text()).not.toContain(PASSWORD);
    return { err: err as DomainError, log };
  }

  it('server down (nothing listens on the port)', async () => {
    const port = await freePort();
    const direct = await rejectionOf(discoverCalendar({ serverUrl: `http://127.0.0.1:${port}`, credentials: creds(), timeoutMs: 5_000, allowedHosts: LOCAL }));
    expect(direct).toMatchObject({ failure: 'transient' });
    await expectUnavailable(`http://127.0.0.1:${port}`);
  });

  it.each([
    ['503 with Retry-After on the first request', 1, { status: 503, headers: { 'Retry-After': '120' } }],
    ['503 on the principal lookup', 2, { status: 503 }],
    ['500 on the calendar home listing', 3, { status: 500 }],
    ['429 on the calendar home listing', 3, { status: 429, headers: { 'Retry-After': '30' } }],
    ['a dropped connection', 2, { destroy: true }],
  ] as const)('%s', async (_what, nth, fault) => {
    const proxy = await startProxy({ target: radicale.url });
    try {
      let n = 0;
      proxy.setFault(() => (++n === nth ? { ...fault } : undefined));
      await expectUnavailable(proxy.url);
      expect(proxy.requests).toHaveLength(nth); // gave up at the failing request
      expect(proxy.requests.at(-1)?.status).toBe('destroy' in fault ? 0 : fault.status);
    } finally {
      await proxy.stop();
    }
  });

  it('a server slower than the timeout', async () => {
    const proxy = await startProxy({ target: radicale.url });
    try {
      proxy.setFault(() => ({ delayMs: 3_000 }));
      const t0 = performance.now();
      const { log } = await expectUnavailable(proxy.url, 250);
      expect(performance.now() - t0).toBeLessThan(2_500); // it gave up at the timeout, not when the server answered
      expect(log.text()).toMatch(/timed out after 250 ms/);
    } finally {
      await proxy.stop();
    }
  });
});
