/**
 * Busy times through the local stack (real handlers, local JWT checks, dynalite) against a
 * real Radicale behind a counting proxy, with events written by another client: every rule
 * of contract §1 busy times, the calendar list and its choice (PATCH), the request counts
 * of cold and warm reads, fail-closed answers (404, 409 + status error, 502 with a stale
 * cache), the internal route for the booking service, and nothing about an event but its
 * times leaving the connector.
 */
import { gunzipSync } from 'node:zlib';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accountKey } from '../../shared/store/table.js';
import { startApiStack, type ApiStack } from '../harness/api-stack.js';
import {
  ALL_DAY_BERLIN,
  deleteObject,
  FLOATING_NEW_YORK,
  oneEvent,
  putObjects,
  SECRET_TITLE,
  semanticsObjects,
  SEMANTICS_BUSY_UTC,
  SEMANTICS_WINDOW,
} from '../harness/busy-fixtures.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ANN = 'ann@icloud.com'; // the semantics account
const BOB = 'bob@icloud.com'; // request counts, PATCH, fail-closed
const CAROL = 'carol@icloud.com'; // revoked password
const CALENDARS = [
  { slug: 'home', displayName: 'Home' },
  { slug: 'work', displayName: 'Work' },
  { slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] },
];

let api: ApiStack;
let output: ApiStack['output'];
let n = 0;
const account = (label: string) => `${label}-${++n}`;

beforeAll(async () => {
  // busyRevalidateSeconds 0: every read asks the server (request counts); the 60 s rule is tested below.
  api = await startApiStack({
    users: { [ANN]: PASSWORD, [BOB]: PASSWORD, [CAROL]: PASSWORD },
    calendars: { [ANN]: CALENDARS, [BOB]: CALENDARS, [CAROL]: CALENDARS },
    busyRevalidateSeconds: 0,
  });
  output = api.output;
});

afterAll(async () => {
  await api?.stop();
});

beforeEach(() => api.caldav.setFault(undefined));

const direct = (appleId: string, slug: string) => `${api.radicale.url}/${encodeURIComponent(appleId)}/${slug}/`;
const viaProxy = (appleId: string, slug: string) => `${api.caldav.url}/${encodeURIComponent(appleId)}/${slug}/`;
const creds = (appleId: string) => ({ username: appleId, password: PASSWORD });
const busy = (as: string, q: Record<string, string>) => api.call('GET', { as, suffix: `/busy?${new URLSearchParams(q)}` });
const calendarRequests = () => api.caldav.requests.map((r) => `${r.method} ${r.path.replace(/^\/[^/]+/, '')}`);

async function connect(as: string, appleId: string) {
  const res = await api.call('POST', { as, body: { appleId, appSpecificPassword: PASSWORD } });
  expect(res.status).toBe(201);
  return res;
}

describe('busy-time semantics (Radicale, events written by another client)', () => {
  const me = account('ann');
  beforeAll(async () => {
    await putObjects(direct(ANN, 'home'), creds(ANN), semanticsObjects(ANN));
    await connect(me, ANN);
  });

  it('recurrence (RRULE, RDATE, EXDATE, moved and cancelled instances) across the DST change, all-day, floating, TRANSP, STATUS, declined, VTODO, merged and clipped', async () => {
    const res = await busy(me, SEMANTICS_WINDOW);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...SEMANTICS_WINDOW, busy: SEMANTICS_BUSY_UTC, asOf: expect.any(String) });
  });

  it('all-day events are busy for their whole day in the timeZone asked for', async () => {
    const { busy: expected, ...q } = ALL_DAY_BERLIN;
    expect((await busy(me, q)).body.busy).toEqual(expected);
  });

  it('floating times are read in the timeZone asked for', async () => {
    const { busy: expected, ...q } = FLOATING_NEW_YORK;
    expect((await busy(me, q)).body.busy).toEqual(expected);
  });

  it('each busy item has exactly start and end; no title or person is in the answer, the logs or the table', async () => {
    const res = await busy(me, SEMANTICS_WINDOW);
    expect(Object.keys(res.body).sort()).toEqual(['asOf', 'busy', 'from', 'to']);
    for (const item of res.body.busy) expect(Object.keys(item)).toEqual(['start', 'end']);
    expect(res.text).not.toContain('Secretname');
    expect(output.text()).not.toContain('Secretname');
    expect(output.text()).not.toContain('organizer@example.org');
    const items = JSON.stringify(await api.scan(), (_k, v) => (v?.type === 'Buffer' || v instanceof Uint8Array ? gunzipSync(Buffer.from(v)).toString() : v));
    expect(items).toContain('RRULE'); // the busy cache is there…
    expect(items).not.toContain(SECRET_TITLE); // …without titles,
    expect(items).not.toContain('organizer@example.org'); // people
    expect(items).not.toContain('ann@example.org');
    expect(items).not.toContain('Room 3'); // or descriptions
  });

  it('the internal route gives the booking service the same answer; a user token is refused (403), no token is 401', async () => {
    const user = await busy(me, SEMANTICS_WINDOW);
    const url = `${api.stack.url}/internal/accounts/${encodeURIComponent(me)}/apple-calendar/busy?${new URLSearchParams(SEMANTICS_WINDOW)}`;
    const svc = await fetch(url, { headers: { authorization: `Bearer ${await api.stack.serviceToken()}` } });
    expect(svc.status).toBe(200);
    expect((await svc.json()).busy).toEqual(user.body.busy);
    const asUser = await fetch(url, { headers: { authorization: `Bearer ${await api.stack.token(me)}` } });
    expect(asUser.status).toBe(403);
    expect((await asUser.json()).error.code).toBe('forbidden');
    expect((await fetch(url)).status).toBe(401);
    const unknown = await fetch(url.replace(encodeURIComponent(me), 'nobody'), { headers: { authorization: `Bearer ${await api.stack.serviceToken()}` } });
    expect(unknown.status).toBe(404);
  });
});

describe('the window', () => {
  it.each([
    [{ to: '2026-12-02T00:00:00Z' }, 'from'],
    [{ from: 'tomorrow', to: '2026-12-02T00:00:00Z' }, 'from'],
    [{ from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'to'],
    [{ from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'to'],
    [{ from: '2026-12-01T00:00:00Z', to: '2027-03-03T00:00:01Z' }, 'to'], // 92 days and a second
    [{ from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', timeZone: 'Mars/Olympus_Mons' }, 'timeZone'],
  ])('400 invalid_request for %o (field %s), before anything else', async (q, field) => {
    const res = await busy(account('win'), q as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(Object.keys(res.body.error.fields)).toContain(field);
  });

  it('92 days exactly is allowed; 404 not_connected when nothing is connected', async () => {
    const res = await busy(account('none'), { from: '2026-12-01T00:00:00Z', to: '2027-03-03T00:00:00Z' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_connected');
  });
});

describe('calendars, PATCH and request counts (Radicale)', () => {
  const me = account('bob');
  const Q = { from: '2027-01-04T00:00:00Z', to: '2027-01-09T00:00:00Z' };
  let workEvent: string;
  beforeAll(async () => {
    await putObjects(direct(BOB, 'home'), creds(BOB), [oneEvent('20270104T090000Z', '20270104T100000Z')]);
    workEvent = (await putObjects(direct(BOB, "work"), creds(BOB), [oneEvent("20270105T090000Z", "20270105T100000Z")]))[0]!;
  });

  it('details list every calendar that can hold events (not Reminders), the default first, all checked', async () => {
    const res = await connect(me, BOB);
    expect(res.body.calendars).toEqual([
      { name: 'Home', url: viaProxy(BOB, 'home'), default: true, checkedForConflicts: true, writable: true },
      { name: 'Work', url: viaProxy(BOB, 'work'), default: false, checkedForConflicts: true, writable: true },
    ]);
    expect((await api.call('GET', { as: me })).body.calendars).toEqual(res.body.calendars);
  });

  it('cold: one calendar-query per checked calendar; warm and unchanged: one PROPFIND of the home; one event changed: 2', async () => {
    api.caldav.reset();
    const cold = await busy(me, Q);
    expect(cold.body.busy).toEqual([
      { start: '2027-01-04T09:00:00.000Z', end: '2027-01-04T10:00:00.000Z' },
      { start: '2027-01-05T09:00:00.000Z', end: '2027-01-05T10:00:00.000Z' },
    ]);
    expect(calendarRequests().sort()).toEqual(['REPORT /home/', 'REPORT /work/']);

    api.caldav.reset();
    const warm = await busy(me, Q);
    expect(warm.body.busy).toEqual(cold.body.busy);
    expect(calendarRequests()).toEqual(['PROPFIND /']);
    expect(Date.now() - Date.parse(warm.body.asOf)).toBeLessThan(5_000);

    await putObjects(direct(BOB, 'work'), creds(BOB), [oneEvent('20270106T120000Z', '20270106T123000Z')]);
    api.caldav.reset();
    const changed = await busy(me, Q);
    expect(changed.body.busy).toEqual([...cold.body.busy, { start: '2027-01-06T12:00:00.000Z', end: '2027-01-06T12:30:00.000Z' }]);
    expect(calendarRequests()).toEqual(['PROPFIND /', 'REPORT /work/']);

    await deleteObject(workEvent, creds(BOB));
    api.caldav.reset();
    expect((await busy(me, Q)).body.busy).toEqual([cold.body.busy[0], { start: '2027-01-06T12:00:00.000Z', end: '2027-01-06T12:30:00.000Z' }]);
    expect(calendarRequests()).toEqual(['PROPFIND /', 'REPORT /work/']);
  });

  it('PATCH conflictCalendars: an unchecked calendar no longer counts; 400 for a URL that is not a calendar; 404 when not connected', async () => {
    const res = await api.call('PATCH', { as: me, body: { conflictCalendars: [viaProxy(BOB, 'work')] } });
    expect(res.status).toBe(200);
    expect(res.body.calendars.map((c: any) => [c.name, c.checkedForConflicts])).toEqual([
      ['Home', false],
      ['Work', true],
    ]);
    expect((await busy(me, Q)).body.busy).toEqual([{ start: '2027-01-06T12:00:00.000Z', end: '2027-01-06T12:30:00.000Z' }]);

    const bad = await api.call('PATCH', { as: me, body: { conflictCalendars: ['https://evil.example/cal/'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('conflictCalendars');
    expect((await api.call('PATCH', { as: me, body: { conflictCalendars: 'all' } })).status).toBe(400);
    expect((await api.call('PATCH', { as: me, body: '{' })).body.error.fields).toHaveProperty('body');
    const none = await api.call('PATCH', { as: account('none'), body: { conflictCalendars: [] } });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('not_connected');

    expect((await api.call('PATCH', { as: me, body: { conflictCalendars: [viaProxy(BOB, 'home'), viaProxy(BOB, 'work')] } })).status).toBe(200);
  });

  it('fail closed: server down with a cache older than 60 s → 502; younger → answered from it with its asOf', async () => {
    await busy(me, Q); // fresh cache
    api.caldav.setFault(() => ({ status: 503 }));
    const setCheckedAt = (ms: number) =>
      api.table.doc.send(new UpdateCommand({ TableName: api.table.name, Key: { pk: accountKey(me), sk: 'BUSY#STATE' }, UpdateExpression: 'SET checkedAt = :t', ExpressionAttributeValues: { ':t': ms } }));
    const recent = Date.now() - 30_000;
    await setCheckedAt(recent);
    const fromCache = await busy(me, Q);
    expect(fromCache.status).toBe(200);
    expect(fromCache.body.asOf).toBe(new Date(recent).toISOString());
    expect(fromCache.body.busy).toHaveLength(2);

    await setCheckedAt(Date.now() - 61_000);
    const stale = await busy(me, Q);
    expect(stale.status).toBe(502);
    expect(stale.body.error.code).toBe('calendar_unavailable');

    api.caldav.setFault(() => ({ destroy: true }));
    expect((await busy(me, Q)).status).toBe(502);
  });

  it('disconnect deletes the busy cache with the credentials', async () => {
    expect((await api.scan()).some((i) => i.pk === accountKey(me) && String(i.sk).startsWith('BUSY#'))).toBe(true);
    expect((await api.call('DELETE', { as: me })).status).toBe(204);
    expect((await api.scan()).filter((i) => i.pk === accountKey(me))).toEqual([]);
    expect((await busy(me, Q)).status).toBe(404);
  });
});

describe('rejected password', () => {
  it('409 reconnect_required and the connection turns error, as a sync 401 does; no more requests with it', async () => {
    const me = account('carol');
    await connect(me, CAROL);
    await api.radicale.setPassword(CAROL, 'zzzz-zzzz-zzzz-zzzz');
    const res = await busy(me, { from: '2027-01-04T00:00:00Z', to: '2027-01-05T00:00:00Z' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('reconnect_required');
    expect((await api.call('GET', { as: me })).body).toMatchObject({ status: 'error', lastSync: { outcome: 'failed', error: 'credentials_rejected' } });
    api.caldav.reset();
    expect((await busy(me, { from: '2027-01-04T00:00:00Z', to: '2027-01-05T00:00:00Z' })).status).toBe(409);
    expect(api.caldav.requests).toEqual([]);
    await api.radicale.setPassword(CAROL, PASSWORD);
    expect((await api.call('POST', { as: me, body: { appleId: CAROL, appSpecificPassword: PASSWORD } })).status).toBe(200);
    expect((await busy(me, { from: '2027-01-04T00:00:00Z', to: '2027-01-05T00:00:00Z' })).status).toBe(200);
  });
});
