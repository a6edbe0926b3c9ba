/** Self-test of the iCloud simulator: each behaviour observed with plain fetch / node:http and Basic auth. */
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ICLOUD_SIM_CALENDARS, ICLOUD_SIM_CHALLENGES, startICloudSim, type ICloudSim } from './icloud-sim/index.js';
import { startRadicale, type RadicaleServer } from './radicale.js';

const ALICE = 'alice@icloud.example';
const BOB = 'bob@icloud.example';
const PW = 'abcd-efgh-ijkl-mnop';

const basic = (user: string, pass = PW) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

const PROPFIND =
  '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:ca="http://apple.com/ns/ical/">' +
  '<d:prop><d:current-user-principal/><c:calendar-home-set/><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/><ca:calendar-order/></d:prop></d:propfind>';

async function dav(url: string, o: { method?: string; user?: string; pass?: string; depth?: string; body?: string; headers?: Record<string, string> } = {}) {
  const method = o.method ?? 'PROPFIND';
  const headers: Record<string, string> = { ...o.headers };
  if (o.user) headers.authorization = basic(o.user, o.pass);
  if (o.depth) headers.depth = o.depth;
  const body = o.body ?? (method === 'PROPFIND' ? PROPFIND : undefined);
  if (method === 'PROPFIND' || method === 'REPORT') headers['content-type'] ??= 'application/xml; charset=utf-8';
  if (method === 'PUT') headers['content-type'] ??= 'text/calendar; charset=utf-8';
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function rawRequest(url: string, headers: Record<string, string>, method = 'PROPFIND'): Promise<{ status: number; rawHeaders: string[]; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

function event(uid: string, o: { summary?: string; organizer?: string; attendees?: string[] } = {}): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//sim-test//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260301T100000Z',
    'DTEND:20260301T110000Z',
    `SUMMARY:${o.summary ?? 'Sim'}`,
    ...(o.organizer ? [o.organizer] : []),
    ...(o.attendees ?? []),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const CALENDAR_QUERY =
  '<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>' +
  '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter></c:calendar-query>';

let radicale: RadicaleServer;
let sim: ICloudSim;
let n = 0;
const uid = () => `sim-${Date.now()}-${++n}`;
const obj = (user: string, slug: string, name: string) => `${sim.calendarUrl(user, slug)}${name}`;

beforeAll(async () => {
  radicale = await startRadicale({ users: { [ALICE]: PW, [BOB]: PW }, calendars: { [ALICE]: ICLOUD_SIM_CALENDARS, [BOB]: ICLOUD_SIM_CALENDARS } });
  sim = await startICloudSim({ radicale });
});

afterAll(async () => {
  await sim?.stop();
  await radicale?.stop();
});

beforeEach(() => {
  sim.reset();
  sim.setEtaglessPuts(false);
  sim.setReadLag(0);
});

describe('hosts and discovery', () => {
  it('canonical host: / names /<dsid>/principal/; the principal names the home on the partition, absolute, port explicit', async () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.partitionUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    const d = sim.dsid(ALICE);
    expect(d).toMatch(/^\d{9}$/);
    const root = await dav(`${sim.url}/`, { user: ALICE, depth: '0' });
    expect(root.status).toBe(207);
    expect(root.text).toContain(`<current-user-principal xmlns="DAV:"><href>/${d}/principal/</href></current-user-principal>`);
    const principal = await dav(`${sim.url}/${d}/principal/`, { user: ALICE, depth: '0' });
    expect(principal.status).toBe(207);
    expect(principal.text).toContain(`<response xmlns="DAV:"><href>/${d}/principal/</href>`);
    expect(principal.text).toContain(`<calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><href xmlns="DAV:">${sim.partitionUrl}/${d}/calendars/</href></calendar-home-set>`);
  });

  it('canonical host: 404 for the home and calendars; the principal with Depth 1 still lists only itself', async () => {
    const d = sim.dsid(ALICE);
    expect((await dav(`${sim.url}/${d}/calendars/`, { user: ALICE, depth: '1' })).status).toBe(404);
    expect((await dav(`${sim.url}/${d}/calendars/home/x.ics`, { method: 'PUT', user: ALICE, body: event(uid()) })).status).toBe(404);
    const p = await dav(`${sim.url}/${d}/principal/`, { user: ALICE, depth: '1' });
    expect(p.text.match(/<response /g)).toHaveLength(1);
  });

  it('home listing: calendars, the VTODO-only tasks/, inbox/, outbox/, notification/; per-element namespaces; missing props in a 404 propstat', async () => {
    const d = sim.dsid(ALICE);
    const home = await dav(`${sim.partitionUrl}/${d}/calendars/`, { user: ALICE, depth: '1' });
    expect(home.status).toBe(207);
    for (const slug of ['home', 'work', 'tasks', 'inbox', 'outbox', 'notification']) expect(home.text).toContain(`<href>/${d}/calendars/${slug}/</href>`);
    expect(home.text).toMatch(/^<\?xml[^>]*\?>\n<multistatus xmlns="DAV:">/);
    expect(home.text).not.toMatch(/<\/?[A-Za-z]+:[A-Za-z]/); // no prefixed element anywhere
    expect(home.text).toMatch(/<href>\/\d+\/calendars\/tasks\/<\/href>.*?<comp name="VTODO"\/>/);
    expect(home.text).toMatch(/<href>\/\d+\/calendars\/inbox\/<\/href><propstat><prop><resourcetype xmlns="DAV:"><collection\/><schedule-inbox xmlns="urn:ietf:params:xml:ns:caldav"\/><\/resourcetype>/);
    // The home row is a plain collection, and props it lacks are in their own 404 propstat.
    const homeRow = home.text.match(new RegExp(`<response xmlns="DAV:"><href>/${d}/calendars/</href>.*?</response>`))![0];
    expect(homeRow).toContain('<resourcetype xmlns="DAV:"><collection/></resourcetype>');
    expect(homeRow).toMatch(/<propstat><prop>.*<\/prop><status>HTTP\/1\.1 200 OK<\/status><\/propstat><propstat><prop>.*<displayname xmlns="DAV:"\/>.*<\/prop><status>HTTP\/1\.1 404 Not Found<\/status><\/propstat>/);
  });

  it('401: empty body and two WWW-Authenticate lines, realm MMCalDav (wrong password and no credentials, on every host)', async () => {
    for (const base of [sim.url, ...sim.partitionUrls]) {
      for (const headers of [{ authorization: basic(ALICE, "wrong-wrong-wron-gggg"), depth: "0" }, { depth: "0" }] as Array<Record<string, string>>) {
        const res = await rawRequest(`${base}/`, headers);
        expect(res.status).toBe(401);
        expect(res.text).toBe('');
        const values: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') values.push(res.rawHeaders[i + 1]!);
        expect(values).toEqual(['X-MobileMe-AuthToken realm="MMCalDav"', 'Basic realm="MMCalDav"']);
        expect(values).toEqual(ICLOUD_SIM_CHALLENGES);
      }
    }
  });

  it("403 for a calendar that is not one of the account's, and for another account's paths", async () => {
    const d = sim.dsid(ALICE);
    expect((await dav(`${sim.partitionUrl}/${d}/calendars/nope/`, { user: ALICE, depth: '0' })).status).toBe(403);
    expect((await dav(`${sim.partitionUrl}/${d}/calendars/nope/x.ics`, { method: 'PUT', user: ALICE, body: event(uid()) })).status).toBe(403);
    expect((await dav(`${sim.partitionUrl}/${sim.dsid(BOB)}/calendars/home/`, { user: ALICE, depth: '0' })).status).toBe(403);
    expect((await dav(`${sim.partitionUrl}/${d}/calendars/inbox/x.ics`, { method: 'PUT', user: ALICE, body: event(uid()) })).status).toBe(403);
  });

  it('400 (HTML) for a PROPFIND body with whitespace before <?xml', async () => {
    const res = await dav(`${sim.url}/`, { user: ALICE, depth: '0', body: `\n  ${PROPFIND}` });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe('writes', () => {
  it('a UID is unique across the account: a PUT of a UID that lives in another calendar is 412 (Radicale alone stores a copy)', async () => {
    const u = uid();
    expect((await dav(obj(ALICE, 'home', 'a.ics'), { method: 'PUT', user: ALICE, body: event(u) })).status).toBe(201);
    expect((await dav(obj(ALICE, 'work', 'b.ics'), { method: 'PUT', user: ALICE, body: event(u) })).status).toBe(412);
    expect((await dav(obj(ALICE, 'home', 'c.ics'), { method: 'PUT', user: ALICE, body: event(u) })).status).toBe(412);
    // Updating the object where it lives is fine.
    expect((await dav(obj(ALICE, 'home', 'a.ics'), { method: 'PUT', user: ALICE, body: event(u, { summary: 'v2' }) })).status).toBeLessThan(300);
    expect((await sim.objectsWithUid(ALICE, u)).map((o) => [o.calendar, o.name])).toEqual([['home', 'a.ics']]);
    // Another account may use the same UID.
    expect((await dav(obj(BOB, 'work', 'b.ics'), { method: 'PUT', user: BOB, body: event(u) })).status).toBe(201);
    // The plain Radicale behind it would have accepted the duplicate.
    const direct = await fetch(`${radicale.url}/${encodeURIComponent(ALICE)}/work/dup.ics`, { method: 'PUT', headers: { authorization: basic(ALICE) }, body: event(u) });
    expect(direct.status).toBe(201);
    expect(await sim.objectsWithUid(ALICE, u)).toHaveLength(2);
    await fetch(`${radicale.url}/${encodeURIComponent(ALICE)}/work/dup.ics`, { method: 'DELETE', headers: { authorization: basic(ALICE) } });
  });

  it('If-None-Match: * on an existing object and a stale If-Match are 412', async () => {
    const u = uid();
    const url = obj(ALICE, 'home', `${u}.ics`);
    const created = await dav(url, { method: 'PUT', user: ALICE, body: event(u), headers: { 'if-none-match': '*' } });
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag')!;
    expect((await dav(url, { method: 'PUT', user: ALICE, body: event(u), headers: { 'if-none-match': '*' } })).status).toBe(412);
    expect((await dav(url, { method: 'PUT', user: ALICE, body: event(u, { summary: 'v2' }), headers: { 'if-match': etag } })).status).toBeLessThan(300);
    expect((await dav(url, { method: 'PUT', user: ALICE, body: event(u, { summary: 'v3' }), headers: { 'if-match': etag } })).status).toBe(412);
  });

  it('ETag-less PUTs: the answer carries no ETag; a GET still has one', async () => {
    sim.setEtaglessPuts(true);
    const u = uid();
    const url = obj(ALICE, 'home', `${u}.ics`);
    const put = await dav(url, { method: 'PUT', user: ALICE, body: event(u) });
    expect(put.status).toBe(201);
    expect(put.headers.get('etag')).toBeNull();
    expect((await dav(url, { method: 'GET', user: ALICE })).headers.get('etag')).toMatch(/^".+"$/);
    sim.setEtaglessPuts(false);
    expect((await dav(url, { method: 'PUT', user: ALICE, body: event(u, { summary: 'v2' }) })).headers.get('etag')).toMatch(/^".+"$/);
  });

  it('moveEvent moves an object the way the Calendar app does: new random name in the target, gone from the source', async () => {
    const u = uid();
    expect((await dav(obj(ALICE, 'home', `${u}.ics`), { method: 'PUT', user: ALICE, body: event(u) })).status).toBe(201);
    const moved = await sim.moveEvent(ALICE, u, 'home', 'work');
    expect(moved).toMatch(new RegExp(`^${sim.partitionUrl}/${sim.dsid(ALICE)}/calendars/work/[0-9A-F-]{36}\\.ics$`));
    expect((await dav(obj(ALICE, 'home', `${u}.ics`), { method: 'GET', user: ALICE })).status).toBe(404);
    const get = await dav(moved, { method: 'GET', user: ALICE });
    expect(get.status).toBe(200);
    expect(get.text).toContain(`UID:${u}`);
    // Writing it again at the old URL is now a UID conflict.
    expect((await dav(obj(ALICE, 'home', `${u}.ics`), { method: 'PUT', user: ALICE, body: event(u), headers: { 'if-none-match': '*' } })).status).toBe(412);
    expect((await sim.objectsWithUid(ALICE, u)).map((o) => o.calendar)).toEqual(['work']);
  });
});

describe('throttling, partitions, read lag', () => {
  it('per-account throttle: every request of the account is 503 with a Retry-After shorter than the throttle; other accounts go on', async () => {
    sim.throttle(ALICE, 1_500, 1);
    const t0 = Date.now();
    const a = await dav(`${sim.url}/`, { user: ALICE, depth: '0' });
    expect(a.status).toBe(503);
    expect(a.headers.get('retry-after')).toBe('1');
    expect((await dav(obj(ALICE, 'home', 'x.ics'), { method: 'PUT', user: ALICE, body: event(uid()) })).status).toBe(503);
    expect((await dav(`${sim.url}/`, { user: BOB, depth: '0' })).status).toBe(207);
    // Obeying Retry-After to the second trips it again.
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() - t0) + 20));
    expect((await dav(`${sim.url}/`, { user: ALICE, depth: '0' })).status).toBe(503);
    expect(sim.throttledRequests(ALICE)).toHaveLength(3);
    expect(sim.throttledRequests(BOB)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, Math.max(0, 1_500 - (Date.now() - t0) + 20)));
    expect((await dav(`${sim.url}/`, { user: ALICE, depth: '0' })).status).toBe(207);
  });

  it('partition move: the old partition answers 403 under the account; the canonical principal names the new partition', async () => {
    const d = sim.dsid(BOB);
    const u = uid();
    const before = sim.partitionUrlOf(BOB);
    expect((await dav(obj(BOB, 'home', `${u}.ics`), { method: 'PUT', user: BOB, body: event(u) })).status).toBe(201);
    const after = sim.movePartition(BOB);
    try {
      expect(after).not.toBe(before);
      expect(after).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
      expect((await dav(`${before}/${d}/calendars/`, { user: BOB, depth: '1' })).status).toBe(403);
      expect((await dav(`${before}/${d}/calendars/home/${u}.ics`, { method: 'GET', user: BOB })).status).toBe(403);
      const principal = await dav(`${sim.url}/${d}/principal/`, { user: BOB, depth: '0' });
      expect(principal.text).toContain(`<href xmlns="DAV:">${after}/${d}/calendars/</href>`);
      expect((await dav(`${after}/${d}/calendars/home/${u}.ics`, { method: 'GET', user: BOB })).status).toBe(200);
      // Other accounts stay where they were.
      expect(sim.partitionUrlOf(ALICE)).toBe(before);
    } finally {
      sim.movePartition(BOB);
    }
  });

  it('read-after-write lag: right after a write, GET and calendar-query answer the previous state', async () => {
    sim.setReadLag(1_500);
    const u = uid();
    const url = obj(ALICE, 'home', `${u}.ics`);
    expect((await dav(url, { method: 'PUT', user: ALICE, body: event(u, { summary: 'first' }) })).status).toBe(201);
    expect((await dav(url, { method: 'GET', user: ALICE })).status).toBe(404);
    const q = await dav(sim.calendarUrl(ALICE, 'home'), { method: 'REPORT', user: ALICE, depth: '1', body: CALENDAR_QUERY });
    expect(q.text).not.toContain(u);
    await new Promise((r) => setTimeout(r, 1_600));
    expect((await dav(url, { method: 'GET', user: ALICE })).text).toContain('SUMMARY:first');
    expect((await dav(url, { method: 'PUT', user: ALICE, body: event(u, { summary: 'second' }) })).status).toBeLessThan(300);
    expect((await dav(url, { method: 'GET', user: ALICE })).text).toContain('SUMMARY:first');
    await new Promise((r) => setTimeout(r, 1_600));
    expect((await dav(url, { method: 'GET', user: ALICE })).text).toContain('SUMMARY:second');
  });

  it('expired sync tokens: a sync-collection with a token issued before expireSyncTokens is a bare 403; a fresh one works', async () => {
    const syncBody = (token: string) =>
      `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;
    const home = sim.calendarUrl(BOB, 'home');
    const initial = await dav(home, { method: 'REPORT', user: BOB, body: syncBody('') });
    expect(initial.status).toBe(207);
    const token = /<sync-token[^>]*>([^<]+)</.exec(initial.text)?.[1];
    expect(token).toBeTruthy();
    expect((await dav(home, { method: 'REPORT', user: BOB, body: syncBody(token!) })).status).toBe(207);
    const before = sim.expiredTokenAnswers;
    sim.expireSyncTokens(BOB);
    const expired = await dav(home, { method: 'REPORT', user: BOB, body: syncBody(token!) });
    expect(expired.status).toBe(403);
    expect(expired.text).toBe('');
    expect(expired.text).not.toContain('valid-sync-token');
    expect(sim.expiredTokenAnswers).toBe(before + 1);
    // After a change, a new initial sync gets a token that works.
    const u = uid();
    expect((await dav(obj(BOB, 'home', `${u}.ics`), { method: 'PUT', user: BOB, body: event(u) })).status).toBe(201);
    const again = await dav(home, { method: 'REPORT', user: BOB, body: syncBody('') });
    const fresh = /<sync-token[^>]*>([^<]+)</.exec(again.text)?.[1];
    expect(fresh).not.toBe(token);
    expect((await dav(home, { method: 'REPORT', user: BOB, body: syncBody(fresh!) })).status).toBe(207);
  });

  it('calendar-query lists the collection itself too, and calendar-data comes in CDATA', async () => {
    const u = uid();
    expect((await dav(obj(ALICE, 'work', `${u}.ics`), { method: 'PUT', user: ALICE, body: event(u) })).status).toBe(201);
    const q = await dav(sim.calendarUrl(ALICE, 'work'), { method: 'REPORT', user: ALICE, depth: '1', body: CALENDAR_QUERY });
    expect(q.status).toBe(207);
    const d = sim.dsid(ALICE);
    expect(q.text).toMatch(new RegExp(`^<\\?xml[^>]*\\?>\\n<multistatus xmlns="DAV:"><response xmlns="DAV:"><href>/${d}/calendars/work/</href>`));
    expect(q.text).toContain(`<calendar-data xmlns="urn:ietf:params:xml:ns:caldav"><![CDATA[BEGIN:VCALENDAR`);
    expect(q.text).toContain(`<href>/${d}/calendars/work/${u}.ics</href>`);
  });
});

describe('scheduling mails iCloud would send', () => {
  const ORG_CLIENT = 'ORGANIZER;CN=Host;SCHEDULE-AGENT=CLIENT:mailto:host@example.com';
  const ORG_PLAIN = 'ORGANIZER;CN=Host:mailto:host@example.com';
  const ATT_CLIENT = 'ATTENDEE;CN=Ann;SCHEDULE-AGENT=CLIENT:mailto:ann@example.com';
  const ATT_PLAIN = 'ATTENDEE;CN=Ann:mailto:ann@example.com';

  it('none when ORGANIZER and every ATTENDEE carry SCHEDULE-AGENT=CLIENT (create, update, delete)', async () => {
    const u = uid();
    const url = obj(ALICE, 'home', `${u}.ics`);
    await dav(url, { method: 'PUT', user: ALICE, body: event(u, { organizer: ORG_CLIENT, attendees: [ATT_CLIENT] }) });
    await dav(url, { method: 'PUT', user: ALICE, body: event(u, { organizer: ORG_CLIENT, attendees: [ATT_CLIENT], summary: 'v2' }) });
    await dav(url, { method: 'DELETE', user: ALICE });
    expect(sim.mails).toEqual([]);
  });

  it('the ORGANIZER without it: "event changed" mails to the attendees (what Cal.com users got)', async () => {
    const u = uid();
    const url = obj(ALICE, 'home', `${u}.ics`);
    await dav(url, { method: 'PUT', user: ALICE, body: event(u, { organizer: ORG_PLAIN, attendees: [ATT_CLIENT] }) });
    await dav(url, { method: 'DELETE', user: ALICE });
    expect(sim.mails.map((m) => [m.method, m.kind, m.to, m.reason])).toEqual([
      ['PUT', 'invitation', 'ann@example.com', 'organizer-without-schedule-agent-client'],
      ['DELETE', 'cancellation', 'ann@example.com', 'organizer-without-schedule-agent-client'],
    ]);
  });

  it('an ATTENDEE without it gets mail even when the account organizes; the account itself never does', async () => {
    const u = uid();
    const url = obj(ALICE, 'home', `${u}.ics`);
    await dav(url, { method: 'PUT', user: ALICE, body: event(u, { organizer: `ORGANIZER:mailto:${ALICE}`, attendees: [ATT_PLAIN, `ATTENDEE:mailto:${ALICE}`] }) });
    await dav(url, { method: 'PUT', user: ALICE, body: event(u, { organizer: `ORGANIZER:mailto:${ALICE}`, attendees: [ATT_PLAIN], summary: 'v2' }) });
    expect(sim.mails.map((m) => [m.kind, m.to, m.reason])).toEqual([
      ['invitation', 'ann@example.com', 'attendee-without-schedule-agent-client'],
      ['update', 'ann@example.com', 'attendee-without-schedule-agent-client'],
    ]);
  });

  it('nothing is recorded for a write that was refused', async () => {
    const u = uid();
    await dav(obj(ALICE, 'home', `${u}.ics`), { method: 'PUT', user: ALICE, body: event(u, { organizer: ORG_CLIENT, attendees: [ATT_CLIENT] }) });
    await dav(obj(ALICE, 'work', `${u}.ics`), { method: 'PUT', user: ALICE, body: event(u, { organizer: ORG_PLAIN, attendees: [ATT_PLAIN] }) });
    expect(sim.mails).toEqual([]);
  });
});

describe('request log', () => {
  it('records host, method, iCloud path, user and status of every request', async () => {
    await dav(`${sim.url}/`, { user: ALICE, depth: '0' });
    await dav(`${sim.partitionUrl}/${sim.dsid(ALICE)}/calendars/nope/`, { user: ALICE, depth: '0' });
    expect(sim.requests.map(({ origin, method, path, user, status }) => ({ origin, method, path, user, status }))).toEqual([
      { origin: sim.url, method: 'PROPFIND', path: '/', user: ALICE, status: 207 },
      { origin: sim.partitionUrl, method: 'PROPFIND', path: `/${sim.dsid(ALICE)}/calendars/nope/`, user: ALICE, status: 403 },
    ]);
  });
});
