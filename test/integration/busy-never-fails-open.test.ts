/**
 * Issue 16 through the local stack against a real Radicale, objects PUT as another client
 * would: exact durations across daylight saving, old and dense series, Outlook's Windows
 * zone names, Outlook's intended status, iCloud's duplicated DTSTAMP, unanswered
 * invitations, a read-only calendar shared by someone else. The objects Radicale refuses to
 * store (RDATE;VALUE=PERIOD, two VEVENTs of one UID without RECURRENCE-ID, FREQ=FOO, a
 * payload without BEGIN:, two DTSTAMP lines) or rewrites (DURATION:PT25H) are served by the proxy in place of a valid stand-in, as iCloud
 * would serve them. Also: an answer over the size cap, a sync-collection truncated with 507.
 * Every expected interval is worked out by hand below (see also test/unit/busy-expand.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeIntervals } from '../../shared/busy/intervals.js';
import { BERLIN_VTIMEZONE, NEW_YORK_VTIMEZONE, oneEvent, putObjects } from '../harness/busy-fixtures.js';
import { testStack } from '../harness/stack.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const DAN = 'dan@icloud.com'; // the host: every case
const MOM = 'mom@icloud.com'; // shares "Family" with dan, read-only for him
const EVE = 'eve@icloud.com'; // a payload without BEGIN:
const FAY = 'fay@icloud.com'; // an event with a 9 MB attachment

const cal = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Another Client//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
let uid = 0;
const ev = (...lines: string[]) => ['BEGIN:VEVENT', `UID:${++uid}-${Date.now()}@another.client`, 'DTSTAMP:20261201T000000Z', 'SUMMARY:Private', ...lines, 'END:VEVENT'];

/** Odd objects iCloud may hold and Radicale refuses, served in place of the stand-in with the same key. */
const ODD: Record<string, string> = {
  period: cal(...ev('DTSTART:20270208T090000Z', 'DTEND:20270208T100000Z', 'RDATE;VALUE=PERIOD:20270209T090000Z/20270209T113000Z,20270210T090000Z/PT2H')),
  twins: cal(
    ...['BEGIN:VEVENT', 'UID:twins', 'DTSTAMP:20261201T000000Z', 'DTSTART:20270215T090000Z', 'DTEND:20270215T100000Z', 'END:VEVENT'],
    ...['BEGIN:VEVENT', 'UID:twins', 'DTSTAMP:20261201T000000Z', 'DTSTART:20270216T090000Z', 'DTEND:20270216T100000Z', 'END:VEVENT'],
  ),
  foo: cal(...ev('DTSTART:20270601T090000Z', 'DTEND:20270601T100000Z', 'RRULE:FREQ=FOO;COUNT=3')),
  // Radicale (vobject) would store PT25H as P1DT1H, a nominal day: iCloud keeps what the client wrote.
  pt25h: cal(...NEW_YORK_VTIMEZONE, ...ev('DTSTART;TZID=America/New_York:20270313T120000', 'DURATION:PT25H')),
  dupstamp: cal(...ev('DTSTAMP:20261202T000000Z', 'DTSTART:20270204T090000Z', 'DTEND:20270204T100000Z')),
  garbage: 'This is not a calendar object at all.\r\n',
};
const standIn = (key: string) => cal('BEGIN:VEVENT', `UID:STANDIN-${key}`, 'DTSTAMP:20261201T000000Z', 'DTSTART:20270102T000000Z', 'DTEND:20270102T000100Z', 'END:VEVENT');
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Hand-worked busy intervals of dan's objects (UTC ms). */
const H = 3_600_000;
const Z = (iso: string) => Date.parse(iso);
const hand: Array<{ start: number; end: number }> = [];
const at = (start: string, end: string) => hand.push({ start: Z(start), end: Z(end) });
// PT25H from 12:00 EST on 13 Mar = 17:00Z; 25 real hours later: 14 Mar 18:00Z (14:00 EDT).
at('2027-03-13T17:00:00Z', '2027-03-14T18:00:00Z');
// Weekly 45 h from Fri 09:00 Berlin (DTEND): 08:00Z–Sun 05:00Z; 26 Mar 08:00Z + 45 h; 2 Apr 07:00Z (CEST) + 45 h.
at('2027-03-19T08:00:00Z', '2027-03-21T05:00:00Z');
at('2027-03-26T08:00:00Z', '2027-03-28T05:00:00Z');
at('2027-04-02T07:00:00Z', '2027-04-04T04:00:00Z');
// Every 15 minutes since 2022, 5 minutes each, until 11 Jan 2027: the 672 of the week from 4 Jan.
for (let t = Z('2027-01-04T00:00:00Z'); t < Z('2027-01-11T00:00:00Z'); t += 15 * 60_000) hand.push({ start: t, end: t + 5 * 60_000 });
// Daily 09:00 Berlin (CET: 08:00Z) for 30 minutes since 2012, until 25 Jan 2027.
for (let d = 4; d <= 25; d++) at(`2027-01-${String(d).padStart(2, '0')}T08:00:00Z`, `2027-01-${String(d).padStart(2, '0')}T08:30:00Z`);
at('2027-02-02T08:00:00Z', '2027-02-02T09:00:00Z'); // 09:00 in "W. Europe Standard Time" (Berlin, CET)
at('2027-02-03T13:00:00Z', '2027-02-03T14:00:00Z'); // an invitation dan has not answered (NEEDS-ACTION): busy; 09:00 intended FREE: free
at('2027-02-04T09:00:00Z', '2027-02-04T10:00:00Z'); // two DTSTAMP lines
at('2027-02-08T09:00:00Z', '2027-02-08T10:00:00Z'); // RDATE;VALUE=PERIOD: DTSTART
at('2027-02-09T09:00:00Z', '2027-02-09T11:30:00Z'); // … a period with an end
at('2027-02-10T09:00:00Z', '2027-02-10T11:00:00Z'); // … a period with a duration
at('2027-02-15T09:00:00Z', '2027-02-15T10:00:00Z'); // two VEVENTs of one UID: both
at('2027-02-16T09:00:00Z', '2027-02-16T10:00:00Z');
at('2027-02-20T09:00:00Z', '2027-02-20T10:00:00Z'); // mom's event in the Family calendar dan may only read
at('2027-06-01T09:00:00Z', '2027-12-31T00:00:00Z'); // FREQ=FOO from its DTSTART: busy to the end of any window
const expectedIn = (from: string, to: string) =>
  mergeIntervals(hand, Z(from), Z(to)).map((i) => ({ start: new Date(i.start).toISOString(), end: new Date(i.end).toISOString() }));

let radicale: RadicaleServer;
let proxy: Proxy;
let ctx: Awaited<ReturnType<typeof testStack>>;
/** Drops the changes from sync-collection answers and says 507 instead (RFC 6578 §3.6), while set. */
let truncateSync = false;

beforeAll(async () => {
  radicale = await startRadicale({
    users: { [DAN]: PASSWORD, [MOM]: PASSWORD, [EVE]: PASSWORD, [FAY]: PASSWORD },
    calendars: { [DAN]: [{ slug: 'home', displayName: 'Home' }, { slug: 'family', displayName: 'Family', readOnly: true }] },
  });
  proxy = await startProxy({
    target: radicale.url,
    rewriteResponse: (req, body) => {
      let out = body.replace(/<((?:\w+:)?calendar-data)([^>]*)>([^<]*?UID:STANDIN-(\w+)[^<]*)<\/\1>/g, (_m, tag, attrs, _text, key) => `<${tag}${attrs}>${escapeXml(ODD[key]!)}</${tag}>`);
      if (truncateSync && req.body.includes('sync-collection')) {
        const path = req.path.split('?')[0]!;
        out = out.replace(/<(\w+:)?response>(?:(?!<\/\1?response>)[\s\S])*?\.ics<\/(\w+:)?href>[\s\S]*?<\/\1?response>/g, '');
        out = out.replace(/(<\/(\w+:)?multistatus>)/, `<D:response xmlns:D="DAV:"><D:href>${path}</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>$1`);
      }
      return out;
    },
  });
  ctx = await testStack(proxy.url, { busyRevalidateSeconds: 0 });
  const home = (user: string) => `${radicale.url}/${encodeURIComponent(user)}/home/`;
  const auth = (user: string) => ({ username: user, password: PASSWORD });
  await putObjects(home(DAN), auth(DAN), [
    standIn('pt25h'),
    cal(...BERLIN_VTIMEZONE, ...ev('DTSTART;TZID=Europe/Berlin:20270319T090000', 'DTEND;TZID=Europe/Berlin:20270321T060000', 'RRULE:FREQ=WEEKLY;COUNT=3')),
    cal(...ev('DTSTART:20220103T000000Z', 'DURATION:PT5M', 'RRULE:FREQ=MINUTELY;INTERVAL=15;UNTIL=20270110T235959Z')),
    cal(...BERLIN_VTIMEZONE, ...ev('DTSTART;TZID=Europe/Berlin:20120102T090000', 'DTEND;TZID=Europe/Berlin:20120102T093000', 'RRULE:FREQ=DAILY;UNTIL=20270125T235959Z')),
    cal(...ev('DTSTART;TZID=W. Europe Standard Time:20270202T090000', 'DTEND;TZID=W. Europe Standard Time:20270202T100000')),
    cal(...ev('DTSTART:20270203T090000Z', 'DTEND:20270203T100000Z', 'X-MICROSOFT-CDO-INTENDEDSTATUS:FREE', 'X-MICROSOFT-CDO-BUSYSTATUS:FREE')),
    cal(...ev('DTSTART:20270203T130000Z', 'DTEND:20270203T140000Z', 'ORGANIZER:mailto:boss@example.org', `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:${DAN}`)),
    standIn('dupstamp'),
    standIn('period'),
    standIn('twins'),
    standIn('foo'),
  ]);
  await putObjects(`${radicale.url}/${encodeURIComponent(DAN)}/family/`, auth(MOM), [oneEvent('20270220T090000Z', '20270220T100000Z')]);
  await putObjects(home(EVE), auth(EVE), [oneEvent('20270202T090000Z', '20270202T100000Z'), standIn('garbage')]);
  const attachment = 'A'.repeat(9 * 1024 * 1024).replace(/(.{74})/g, '$1\r\n ');
  await putObjects(home(FAY), auth(FAY), [
    oneEvent('20270202T090000Z', '20270202T100000Z'),
    cal(...ev('DTSTART:20270205T090000Z', 'DTEND:20270205T100000Z', `ATTACH;VALUE=BINARY;ENCODING=BASE64;FMTTYPE=image/png:${attachment}`)),
  ]);
  for (const user of [DAN, EVE, FAY]) expect((await ctx.api('POST', user, { appleId: user, appSpecificPassword: PASSWORD })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await ctx?.stack.stop();
  await proxy?.stop();
  await radicale?.stop();
});

const busy = async (account: string, from: string, to: string, timeZone = 'UTC') => {
  const q = new URLSearchParams({ from, to, timeZone });
  const res = await fetch(`${ctx.stack.url}/integrations/apple-calendar/busy?${q}`, { headers: { authorization: `Bearer ${await ctx.stack.token(account)}` } });
  return { status: res.status, body: (await res.json()) as any };
};

describe('busy times never fail open (Radicale, objects another client wrote)', () => {
  it.each([
    ['DURATION:PT25H across the New York change: 25 real hours', '2027-03-12T00:00:00Z', '2027-03-16T00:00:00Z'],
    ['a weekly 45-hour series across the Berlin change: every instance 45 hours', '2027-03-17T00:00:00Z', '2027-04-10T00:00:00Z'],
    ['every 15 minutes since 2022: all 672 instances of a 2027 week (and the daily series since 2012)', '2027-01-04T00:00:00Z', '2027-01-11T00:00:00Z'],
    ['daily since 2012: each day of a 2027 fortnight', '2027-01-11T00:00:00Z', '2027-01-31T00:00:00Z'],
    ['Windows zone name, Outlook FREE, unanswered invitation, duplicated DTSTAMP', '2027-02-01T00:00:00Z', '2027-02-05T00:00:00Z'],
    ['RDATE;VALUE=PERIOD and two VEVENTs of one UID (served as iCloud would)', '2027-02-07T00:00:00Z', '2027-02-17T00:00:00Z'],
    ['an event in a calendar shared read-only', '2027-02-19T00:00:00Z', '2027-02-21T00:00:00Z'],
    ['FREQ=FOO: busy from its DTSTART to the end of the window, a 200', '2027-05-30T00:00:00Z', '2027-06-03T00:00:00Z'],
  ])('%s', async (_what, from, to) => {
    const res = await busy(DAN, from, to);
    expect(res.status).toBe(200);
    expect(res.body.busy).toEqual(expectedIn(from, to));
  });

  it('the read-only shared calendar is listed with writable: false and checked for conflicts; PATCH can leave it out and put it back', async () => {
    const details = (await ctx.api('GET', DAN)).body;
    const family = details.calendars.find((c: any) => c.name === 'Family');
    expect(family).toEqual({ name: 'Family', url: `${proxy.url}/${encodeURIComponent(DAN)}/family/`, default: false, checkedForConflicts: true, writable: false });
    expect(details.calendars.find((c: any) => c.name === 'Home')).toMatchObject({ default: true, writable: true });
    expect(details.calendar.name).toBe('Home'); // never the destination
    const home = details.calendars.find((c: any) => c.name === 'Home').url;
    expect((await ctx.api('PATCH', DAN, { conflictCalendars: [home] })).status).toBe(200);
    expect((await busy(DAN, '2027-02-19T00:00:00Z', '2027-02-21T00:00:00Z')).body.busy).toEqual([]);
    expect((await ctx.api('PATCH', DAN, { conflictCalendars: [home, family.url] })).status).toBe(200);
    expect((await busy(DAN, '2027-02-19T00:00:00Z', '2027-02-21T00:00:00Z')).body.busy).toEqual(expectedIn('2027-02-19T00:00:00Z', '2027-02-21T00:00:00Z'));
  });

  it('a payload without BEGIN: counts busy over the whole window (logged by URL), never skipped', async () => {
    const res = await busy(EVE, '2027-02-01T00:00:00Z', '2027-02-03T00:00:00Z');
    expect(res.status).toBe(200);
    expect(res.body.busy).toEqual([{ start: '2027-02-01T00:00:00.000Z', end: '2027-02-03T00:00:00.000Z' }]);
    expect(ctx.output.text()).toContain('is not iCalendar');
  });

  it('an answer over the size cap (an event with a 9 MB attachment) is read in pieces; that one object counts busy', async () => {
    proxy.reset();
    const res = await busy(FAY, '2027-02-01T00:00:00Z', '2027-02-08T00:00:00Z');
    expect(res.status).toBe(200);
    expect(res.body.busy).toEqual([{ start: '2027-02-01T00:00:00.000Z', end: '2027-02-08T00:00:00.000Z' }]);
    const kind = (body: string) => (body.includes('time-range') ? 'in range' : 'recurring');
    const reports = proxy.requests
      .filter((r) => r.method === 'REPORT')
      .map((r) => (r.body.includes('calendar-multiget') ? `multiget ${(r.body.match(/<d:href>/g) ?? []).length}` : `query ${kind(r.body)}${r.body.includes('calendar-data') ? '' : ' (etags)'}`));
    expect(reports).toEqual(['query in range', 'query in range (etags)', 'multiget 2', 'multiget 1', 'multiget 1', 'query recurring']);
  });

  it('a sync-collection answer truncated with 507 is not taken as complete: the change is still seen', async () => {
    const before = await busy(DAN, '2027-02-22T00:00:00Z', '2027-02-23T00:00:00Z');
    expect(before.body.busy).toEqual([]);
    await putObjects(`${radicale.url}/${encodeURIComponent(DAN)}/family/`, { username: MOM, password: PASSWORD }, [oneEvent('20270222T090000Z', '20270222T100000Z')]);
    truncateSync = true;
    proxy.reset();
    try {
      const after = await busy(DAN, '2027-02-22T00:00:00Z', '2027-02-23T00:00:00Z');
      expect(after.body.busy).toEqual([{ start: '2027-02-22T09:00:00.000Z', end: '2027-02-22T10:00:00.000Z' }]);
    } finally {
      truncateSync = false;
    }
    const seen = proxy.requests.map((r) => `${r.method} ${r.body.includes('sync-collection') ? 'sync' : r.body.includes('calendar-query') ? 'query' : ''}`.trim());
    expect(seen).toEqual(['PROPFIND', 'REPORT sync', 'REPORT query', 'REPORT query']);
  });
});
