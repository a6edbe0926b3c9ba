/** Self-test of the CalDAV test harness: Radicale, Xandikos, the proxy and the iCloud-shaped front. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICLOUD_LIKE_CALENDARS, startICloudLike, type ICloudLike } from './icloud.js';
import { freePort, waitForPort } from './ports.js';
import { startProxy, type Proxy } from './proxy.js';
import { startRadicale, type RadicaleServer } from './radicale.js';
import { startXandikos, type XandikosServer } from './xandikos.js';

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">' +
  '<d:prop><d:current-user-principal/><c:calendar-home-set/><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/></d:prop></d:propfind>';

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** One request with fetch; Basic auth if `auth` is given. */
async function dav(
  url: string,
  opts: { method?: string; auth?: [string, string]; depth?: '0' | '1'; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const method = opts.method ?? 'PROPFIND';
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = basic(...opts.auth);
  if (opts.depth) headers.depth = opts.depth;
  let body = opts.body;
  if (method === 'PROPFIND' && body === undefined) body = PROPFIND_BODY;
  if (method === 'PROPFIND') headers['content-type'] ??= 'application/xml; charset=utf-8';
  const res = await fetch(url, { method, headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** One request with node:http, to see raw header lines and socket reuse. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {},
): Promise<{ status: number; rawHeaders: string[]; reused: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, reused: req.reusedSocket, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function headerLines(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) out.push(rawHeaders[i + 1] ?? '');
  }
  return out;
}

const EVENT = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//harness//test//EN',
  'BEGIN:VEVENT',
  'UID:harness-1',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20260301T100000Z',
  'DTEND:20260301T110000Z',
  'SUMMARY:Harness',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('ports', () => {
  it('finds a free port and times out with a clear error when nothing listens', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(waitForPort(port, { timeoutMs: 150 })).rejects.toThrow(/did not listen on 127\.0\.0\.1:\d+ within 150 ms/);
  });
});

describe('radicale', () => {
  let r: RadicaleServer;
  beforeAll(async () => {
    r = await startRadicale({ users: { alice: 'pw1', bob: 'pwb' }, calendars: { alice: ICLOUD_LIKE_CALENDARS } });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('answers PROPFIND / with the principal, and 401 without or with wrong credentials', async () => {
    expect(r.url).toBe(`http://127.0.0.1:${r.port}`);
    expect((await dav(`${r.url}/`, { depth: '0' })).status).toBe(401);
    const wrong = await dav(`${r.url}/`, { depth: '0', auth: ['alice', 'nope'] });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const ok = await dav(`${r.url}/`, { depth: '0', auth: ['alice', 'pw1'] });
    expect(ok.status).toBe(207);
    expect(ok.text).toMatch(/<current-user-principal><href>\/alice\/<\/href>/);
  });

  it('lists the pre-created calendars under /<user>/ with their components', async () => {
    const res = await dav(`${r.url}/alice/`, { depth: '1', auth: ['alice', 'pw1'] });
    expect(res.status).toBe(207);
    expect(res.text).toMatch(/<href>\/alice\/home\/<\/href>.*?<displayname>Home<\/displayname>.*?<C:comp name="VEVENT" \/>/);
    expect(res.text).toMatch(/<href>\/alice\/reminders\/<\/href>.*?<displayname>Reminders<\/displayname>.*?<C:comp name="VTODO" \/>/);
    // bob got the default calendar
    const bob = await dav(`${r.url}/bob/`, { depth: '1', auth: ['bob', 'pwb'] });
    expect(bob.text).toContain('<href>/bob/home/</href>');
  });

  it('PUT / GET / DELETE an event; another user is refused (owner_only)', async () => {
    const url = `${r.url}${r.calendarPath('alice')}harness-1.ics`;
    const put = await dav(url, { method: 'PUT', auth: ['alice', 'pw1'], body: EVENT, headers: { 'content-type': 'text/calendar' } });
    expect(put.status).toBe(201);
    expect(put.headers.get('etag')).toMatch(/^".+"$/);
    const get = await dav(url, { method: 'GET', auth: ['alice', 'pw1'] });
    expect(get.status).toBe(200);
    expect(get.text).toContain('UID:harness-1');
    expect((await dav(url, { method: 'GET', auth: ['bob', 'pwb'] })).status).toBe(403);
    expect((await dav(url, { method: 'DELETE', auth: ['alice', 'pw1'] })).status).toBe(200);
    expect((await dav(url, { method: 'GET', auth: ['alice', 'pw1'] })).status).toBe(404);
  });

  it('setPassword revokes the old password; removeUser revokes the user', async () => {
    await r.setPassword('alice', 'pw2');
    expect((await dav(`${r.url}/`, { depth: '0', auth: ['alice', 'pw1'] })).status).toBe(401);
    expect((await dav(`${r.url}/`, { depth: '0', auth: ['alice', 'pw2'] })).status).toBe(207);
    await r.removeUser('bob');
    expect((await dav(`${r.url}/`, { depth: '0', auth: ['bob', 'pwb'] })).status).toBe(401);
  });

  it('kill() takes it down; restart() brings it back on the same port with the same data', async () => {
    const url = `${r.url}${r.calendarPath('alice')}harness-2.ics`;
    const auth: [string, string] = ['alice', 'pw2'];
    expect((await dav(url, { method: 'PUT', auth, body: EVENT.replace('harness-1', 'harness-2') })).status).toBe(201);

    await r.restart();
    expect((await dav(url, { method: 'GET', auth })).status).toBe(200);

    await r.kill();
    await expect(fetch(url, { headers: { authorization: basic(...auth) } })).rejects.toThrow();
    await r.restart();
    const after = await dav(url, { method: 'GET', auth });
    expect(after.status).toBe(200);
    expect(after.text).toContain('UID:harness-2');
  });
});

describe('xandikos behind Basic auth', () => {
  let x: XandikosServer;
  beforeAll(async () => {
    x = await startXandikos({ username: 'xuser', password: 'xpw' });
  });
  afterAll(async () => {
    await x?.stop();
  });

  it('answers 401 with Basic realm="test" without or with wrong credentials', async () => {
    for (const auth of [undefined, ['xuser', 'bad'] as [string, string]]) {
      const res = await dav(`${x.url}/`, { depth: '0', auth });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="test"');
    }
  });

  it('serves principal, home and calendar with the right credentials; setPassword revokes', async () => {
    const auth: [string, string] = ['xuser', 'xpw'];
    const root = await dav(`${x.url}/`, { depth: '0', auth });
    expect(root.status).toBe(207);
    expect(root.text).toMatch(/current-user-principal><ns0:href>\/user\/</);
    const principal = await dav(`${x.url}${x.principalPath}`, { depth: '0', auth });
    expect(principal.text).toMatch(/calendar-home-set><ns0:href>\/user\/calendars\/</);
    const put = await dav(`${x.url}${x.calendarPath}harness-1.ics`, { method: 'PUT', auth, body: EVENT, headers: { 'content-type': 'text/calendar' } });
    expect(put.status).toBe(201);
    await x.setPassword('xuser', 'new');
    expect((await dav(`${x.url}/`, { depth: '0', auth })).status).toBe(401);
    expect((await dav(`${x.url}/`, { depth: '0', auth: ['xuser', 'new'] })).status).toBe(207);
    expect(x.proxy.requests.map((q) => q.status)).toEqual([401, 401, 207, 207, 201, 401, 207]);
  });
});

describe('proxy', () => {
  let r: RadicaleServer;
  let p: Proxy;
  const auth: [string, string] = ['alice', 'pw'];
  beforeAll(async () => {
    r = await startRadicale({ users: { alice: 'pw' } });
    p = await startProxy({ target: r.url });
  });
  afterAll(async () => {
    await p?.stop();
    await r?.stop();
  });

  it('forwards and logs every request with its status', async () => {
    p.reset();
    expect((await dav(`${p.url}/`, { depth: '0', auth })).status).toBe(207);
    expect((await dav(`${p.url}/alice/home/`, { depth: '0', auth: ['alice', 'x'] })).status).toBe(401);
    expect(p.requests.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: 'PROPFIND', path: '/', status: 207 },
      { method: 'PROPFIND', path: '/alice/home/', status: 401 },
    ]);
    expect(p.requests[0]?.headers.depth).toBe('0');
  });

  it('keeps client connections alive', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const headers = { authorization: basic(...auth), depth: '0' };
    const first = await raw(`${p.url}/`, { method: 'PROPFIND', headers, agent });
    const second = await raw(`${p.url}/alice/`, { method: 'PROPFIND', headers, agent });
    agent.destroy();
    expect([first.status, second.status]).toEqual([207, 207]);
    expect(second.reused).toBe(true);
  });

  it('injects 503 + Retry-After, 429, a delay and a dropped socket', async () => {
    p.reset();
    let n = 0;
    p.setFault(() => {
      n += 1;
      if (n === 1) return { status: 503, headers: { 'Retry-After': '1' } };
      if (n === 2) return { status: 429 };
      if (n === 3) return { destroy: true };
      if (n === 4) return { delayMs: 100 };
      return undefined;
    });
    const r503 = await dav(`${p.url}/`, { depth: '0', auth });
    expect(r503.status).toBe(503);
    expect(r503.headers.get('retry-after')).toBe('1');
    expect((await dav(`${p.url}/`, { depth: '0', auth })).status).toBe(429);
    await expect(dav(`${p.url}/`, { depth: '0', auth })).rejects.toThrow();
    const t0 = Date.now();
    expect((await dav(`${p.url}/`, { depth: '0', auth })).status).toBe(207);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    p.setFault(undefined);
    expect(p.requests.map((q) => q.status)).toEqual([503, 429, 0, 207]);
  });

  it('answers 502 while the upstream is down, and recovers after restart', async () => {
    await r.kill();
    expect((await dav(`${p.url}/`, { depth: '0', auth })).status).toBe(502);
    await r.restart();
    expect((await dav(`${p.url}/`, { depth: '0', auth })).status).toBe(207);
  });
});

describe('iCloud-shaped front', () => {
  let r: RadicaleServer;
  let ic: ICloudLike;
  const auth: [string, string] = ['alice', 'pw'];
  beforeAll(async () => {
    r = await startRadicale({ users: { alice: 'pw' }, calendars: { alice: ICLOUD_LIKE_CALENDARS } });
    ic = await startICloudLike({ radicale: r });
  });
  afterAll(async () => {
    await ic?.stop();
    await r?.stop();
  });

  it('A: / gives the principal; the principal gives an absolute calendar-home-set on B', async () => {
    expect(ic.url).toBe(ic.a.url);
    expect(ic.partitionUrl).toBe(`http://127.0.0.1:${ic.b.port}`);
    const root = await dav(`${ic.url}/`, { depth: '0', auth });
    expect(root.status).toBe(207);
    expect(root.text).toMatch(/<current-user-principal><href>\/alice\/<\/href>/);
    const principal = await dav(`${ic.url}/alice/`, { depth: '0', auth });
    expect(principal.status).toBe(207);
    expect(principal.text).toContain(`<C:calendar-home-set><href>http://127.0.0.1:${ic.b.port}/alice/</href></C:calendar-home-set>`);
    const wk = await fetch(`${ic.url}/.well-known/caldav`, { redirect: 'manual', headers: { authorization: basic(...auth) } });
    expect(wk.status).toBe(301);
  });

  it('A: 404 for calendar paths and for a Depth-1 listing of the home', async () => {
    expect((await dav(`${ic.url}/alice/home/`, { depth: '0', auth })).status).toBe(404);
    expect((await dav(`${ic.url}/alice/`, { depth: '1', auth })).status).toBe(404);
    expect((await dav(`${ic.url}/alice/home/x.ics`, { method: 'PUT', auth, body: EVENT })).status).toBe(404);
  });

  it('B: lists Home, the VTODO Reminders list and inbox/outbox/notification; serves objects', async () => {
    const home = await dav(`${ic.partitionUrl}/alice/`, { depth: '1', auth });
    expect(home.status).toBe(207);
    for (const href of ['/alice/home/', '/alice/reminders/', '/alice/inbox/', '/alice/outbox/', '/alice/notification/']) {
      expect(home.text).toContain(`<href>${href}</href>`);
    }
    expect(home.text).toMatch(/<\/multistatus>$/);
    const url = `${ic.partitionUrl}/alice/home/harness-1.ics`;
    expect((await dav(url, { method: 'PUT', auth, body: EVENT, headers: { 'content-type': 'text/calendar' } })).status).toBe(201);
    expect((await dav(url, { method: 'GET', auth })).status).toBe(200);
  });

  it('401 (on A and on B) carries two WWW-Authenticate header lines', async () => {
    for (const base of [ic.url, ic.partitionUrl]) {
      const res = await raw(`${base}/`, { method: 'PROPFIND', headers: { authorization: basic('alice', 'wrong'), depth: '0' } });
      expect(res.status).toBe(401);
      expect(headerLines(res.rawHeaders, 'www-authenticate')).toEqual(['X-MobileMe-AuthToken realm="Newcastle"', 'Basic realm="Newcastle"']);
    }
  });
});
