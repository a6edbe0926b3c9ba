/**
 * Credentials go only to trusted hosts (contract §1, §3 CALDAV_ALLOWED_HOSTS), through the
 * real HTTP API and a real Radicale: the CalDAV server's answers name a "foreign" host on
 * another loopback address (127.0.0.2) — as a principal href, a calendar-home href, a default
 * calendar href, a redirect — and the foreign host, which forwards to Radicale and would make
 * connect succeed, never receives a request. Connect answers 502 calendar_unavailable and
 * stores nothing. A stored calendar URL on an untrusted host gets no request either.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accountKey, ATTEMPTS_SK } from '../../shared/store/table.js';
import { startApiStack, type ApiStack } from '../harness/api-stack.js';
import { sqsEvent, bookingEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';
import { startForeignServer, type ForeignServer } from '../servers/foreign-server.js';
import type { FaultResponse, ProxiedRequest } from '../servers/proxy.js';

const ANN = 'ann@icloud.com';
const PASSWORD = 'qmzr-vhkt-plwc-ndxa';
const USER_PATH = '/ann%40icloud.com/';

let api: ApiStack;
let foreign: ForeignServer;
let output: ApiStack['output'];

beforeAll(async () => {
  api = await startApiStack({ users: { [ANN]: PASSWORD } });
  output = api.output;
  foreign = await startForeignServer(api.radicale.url);
});

afterAll(async () => {
  await foreign?.stop();
  await api?.stop();
});

beforeEach(() => {
  api.caldav.setFault(undefined);
  api.caldav.reset();
  foreign.requests.length = 0;
});

const multistatus = (responses: string) =>
  `<?xml version="1.0" encoding="utf-8"?><multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">${responses}</multistatus>`;
const ok = (href: string, props: string) => `<response><href>${href}</href><propstat><prop>${props}</prop><status>HTTP/1.1 200 OK</status></propstat></response>`;
const xml = (body: string): FaultResponse => ({ status: 207, headers: { 'content-type': 'application/xml; charset=utf-8' }, body });
const isPropfind = (req: ProxiedRequest, path: string, depth?: string) =>
  req.method === 'PROPFIND' && req.path.split('?')[0] === path && (depth === undefined || req.headers.depth === depth);

/** The server's answers, each naming the foreign host at one step of discovery. */
const scenarios: Array<[string, () => (req: ProxiedRequest) => FaultResponse | undefined]> = [
  [
    'a principal href',
    () => (req) => (isPropfind(req, '/') ? xml(multistatus(ok('/', `<current-user-principal><href>${foreign.url}${USER_PATH}</href></current-user-principal>`))) : undefined),
  ],
  [
    'a calendar-home href',
    () => (req) =>
      isPropfind(req, USER_PATH, '0') && req.body.includes('calendar-home-set')
        ? xml(multistatus(ok(USER_PATH, `<C:calendar-home-set><href>${foreign.url}${USER_PATH}</href></C:calendar-home-set>`)))
        : undefined,
  ],
  [
    'a default-calendar href',
    () => (req) =>
      isPropfind(req, USER_PATH, '1')
        ? xml(
            multistatus(
              ok(USER_PATH, `<resourcetype><collection/></resourcetype><C:schedule-default-calendar-URL><href>${foreign.url}${USER_PATH}home/</href></C:schedule-default-calendar-URL>`) +
                ok(
                  `${USER_PATH}home/`,
                  '<resourcetype><collection/><C:calendar/></resourcetype><displayname>Home</displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>',
                ),
            ),
          )
        : undefined,
  ],
  ['a redirect', () => (req) => (req.method === 'PROPFIND' ? { status: 301, headers: { location: `${foreign.url}${req.path}` }, body: '' } : undefined)],
  ['a redirect to plain http on another host name for the same address', () => (req) => (req.method === 'PROPFIND' ? { status: 307, headers: { location: `http://localhost:${api.caldav.port}${req.path}` }, body: '' } : undefined)],
  [
    'a calendar listed on the foreign host',
    () => (req) =>
      isPropfind(req, USER_PATH, '1')
        ? xml(
            multistatus(
              ok(
                `${foreign.url}${USER_PATH}home/`,
                '<resourcetype><collection/><C:calendar/></resourcetype><displayname>Home</displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>',
              ),
            ),
          )
        : undefined,
  ],
];

describe('connect: credentials never reach a host the server names', () => {
  it('the foreign host works: a connector that followed it would succeed', async () => {
    const res = await fetch(`${foreign.url}${USER_PATH}`, {
      method: 'PROPFIND',
      headers: { authorization: `Basic ${Buffer.from(`${ANN}:${PASSWORD}`).toString('base64')}`, depth: '0' },
    });
    expect(res.status).toBe(207);
    foreign.requests.length = 0;
  });

  it.each(scenarios)('%s → 502 calendar_unavailable, nothing stored, no request to the foreign host', async (_what, fault) => {
    const account = `acct-${_what.replace(/\W+/g, '-')}`;
    api.caldav.setFault(fault());
    const res = await api.call('POST', { as: account, body: { appleId: ANN, appSpecificPassword: PASSWORD } });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('calendar_unavailable');
    expect(await api.connectionItem(account)).toBeUndefined();
    expect(foreign.requests).toEqual([]);
    // The trusted server was asked (the check is not vacuous), with the credentials.
    expect(api.caldav.requests.length).toBeGreaterThan(0);
    expect(api.caldav.requests.every((r) => r.headers.authorization?.startsWith('Basic '))).toBe(true);
    // Not a rejected login: no attempt left counting against the account.
    const attempts = await api.table.doc.send(
      new GetCommand({ TableName: api.table.name, Key: { pk: accountKey(account), sk: ATTEMPTS_SK }, ConsistentRead: true }),
    );
    expect(attempts.Item?.attempts ?? []).toEqual([]);
  });

  it('a same-host redirect is followed (checked), and connect succeeds', async () => {
    api.caldav.setFault((req) => (isPropfind(req, '/') ? { status: 301, headers: { location: USER_PATH }, body: '' } : undefined));
    const res = await api.call('POST', { as: 'acct-same-host-redirect', body: { appleId: ANN, appSpecificPassword: PASSWORD } });
    expect(res.status).toBe(201);
    expect(res.body.calendar.url.startsWith(`${api.caldav.url}/`)).toBe(true);
    expect(foreign.requests).toEqual([]);
  });

  it('logs why, without the password', () => {
    const lines = output.lines().filter((l) => l.message === 'CalDAV server named an untrusted host during connect');
    expect(lines.length).toBeGreaterThanOrEqual(scenarios.length);
    expect(output.text()).not.toContain(PASSWORD);
  });
});

describe('sync: a stored calendar URL on an untrusted host gets no request', () => {
  it('re-discovers within the trusted hosts, stores the trusted URL and writes the event there', async () => {
    const account = 'acct-sync-foreign';
    expect((await api.call('POST', { as: account, body: { appleId: ANN, appSpecificPassword: PASSWORD } })).status).toBe(201);
    const item = (await api.connectionItem(account))!;
    const trustedUrl = item.calendarUrl as string;
    // As if stored before the check, or CALDAV_ALLOWED_HOSTS changed since.
    await api.table.doc.send(new PutCommand({ TableName: api.table.name, Item: { ...item, calendarUrl: `${foreign.url}${USER_PATH}home/` } }));
    foreign.requests.length = 0;

    const res = await api.stack.syncHandler(sqsEvent([bookingEvent('confirmed', account, 'bk_foreign', 1)]));
    expect(res).toEqual({ batchItemFailures: [] });
    expect(foreign.requests).toEqual([]);
    expect((await api.connectionItem(account))!.calendarUrl).toBe(trustedUrl);
    const events = await readCalendar(`${api.radicale.url}${USER_PATH}home/`, { username: ANN, password: PASSWORD });
    expect([...events.values()].some((ics) => ics.includes('Consultation bk_foreign v1'))).toBe(true);
    expect((await api.call('GET', { as: account })).body.lastSync).toMatchObject({ outcome: 'ok' });
  });
});
