/**
 * Busy times against Xandikos (behind a Basic-auth proxy) through the local stack: the same
 * semantics as on Radicale with events written by another client, and the request counts.
 * Xandikos's sync-collection leaves calendar-data out: the first changed read fetches the
 * changed object with a calendar-multiget (3 requests), after which a changed calendar is
 * read whole with one calendar-query (2 requests).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_DAY_BERLIN, BERLIN_VTIMEZONE, FLOATING_NEW_YORK, oneEvent, putObjects, semanticsObjects, SEMANTICS_BUSY_UTC, SEMANTICS_WINDOW } from '../harness/busy-fixtures.js';
import { testStack } from '../harness/stack.js';
import { startXandikos, type XandikosServer } from '../servers/xandikos.js';

const APPLE_ID = 'xan@icloud.example';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ME = 'acct-xandikos';

let xandikos: XandikosServer;
let ctx: Awaited<ReturnType<typeof testStack>>;

beforeAll(async () => {
  xandikos = await startXandikos({ username: APPLE_ID, password: PASSWORD });
  ctx = await testStack(xandikos.url, { busyRevalidateSeconds: 0 });
  await putObjects(`${xandikos.backendUrl}${xandikos.calendarPath}`, { username: 'unused', password: 'unused' }, semanticsObjects(APPLE_ID));
  const res = await ctx.api('POST', ME, { appleId: APPLE_ID, appSpecificPassword: PASSWORD });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await ctx?.stack.stop();
  await xandikos?.stop();
});

const busy = async (q: Record<string, string>) => {
  const res = await fetch(`${ctx.stack.url}/integrations/apple-calendar/busy?${new URLSearchParams(q)}`, { headers: { authorization: `Bearer ${await ctx.stack.token(ME)}` } });
  return { status: res.status, body: (await res.json()) as any };
};
const requests = () => xandikos.proxy.requests.map((r) => `${r.method} ${r.path}`);

describe('busy times on Xandikos', () => {
  it('lists the calendar with checkedForConflicts', async () => {
    const details = await ctx.api('GET', ME);
    expect(details.body.calendars).toContainEqual({ name: expect.any(String), url: `${xandikos.url}${xandikos.calendarPath}`, default: true, checkedForConflicts: true, writable: true });
  });

  it('cold read: two calendar-queries per checked calendar (time range; every recurring object), and every rule gives the hand-worked intervals', async () => {
    const checked = (await ctx.api('GET', ME)).body.calendars.filter((c: any) => c.checkedForConflicts).length;
    xandikos.proxy.reset();
    const res = await busy(SEMANTICS_WINDOW);
    expect(res.status).toBe(200);
    expect(res.body.busy).toEqual(SEMANTICS_BUSY_UTC);
    expect(requests().filter((r) => r.startsWith('REPORT'))).toHaveLength(2 * checked);
    expect(requests()).toHaveLength(2 * checked);
  });

  it('all-day in Europe/Berlin, floating in America/New_York (warm: one PROPFIND each)', async () => {
    for (const { busy: expected, ...q } of [ALL_DAY_BERLIN, FLOATING_NEW_YORK]) {
      xandikos.proxy.reset();
      expect((await busy(q)).body.busy).toEqual(expected);
      expect(requests()).toEqual(['PROPFIND /user/calendars/']);
    }
  });

  it('one event changed: the change is seen; 3 requests the first time (multiget), then 3 (the calendar read whole: two queries)', async () => {
    const Q = { from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z' };
    const put = (start: string, end: string) => putObjects(`${xandikos.backendUrl}${xandikos.calendarPath}`, { username: 'x', password: 'x' }, [oneEvent(start, end)]);
    await put('20261120T090000Z', '20261120T100000Z');
    xandikos.proxy.reset();
    expect((await busy(Q)).body.busy).toEqual([{ start: '2026-11-20T09:00:00.000Z', end: '2026-11-20T10:00:00.000Z' }]);
    expect(requests()).toEqual(['PROPFIND /user/calendars/', `REPORT ${xandikos.calendarPath}`, `REPORT ${xandikos.calendarPath}`]);

    await put('20261120T120000Z', '20261120T130000Z');
    xandikos.proxy.reset();
    expect((await busy(Q)).body.busy).toEqual([
      { start: '2026-11-20T09:00:00.000Z', end: '2026-11-20T10:00:00.000Z' },
      { start: '2026-11-20T12:00:00.000Z', end: '2026-11-20T13:00:00.000Z' },
    ]);
    expect(requests()).toEqual(['PROPFIND /user/calendars/', `REPORT ${xandikos.calendarPath}`, `REPORT ${xandikos.calendarPath}`]);

    xandikos.proxy.reset();
    expect((await busy(SEMANTICS_WINDOW)).body.busy).toEqual(
      [...SEMANTICS_BUSY_UTC, { start: '2026-11-20T09:00:00.000Z', end: '2026-11-20T10:00:00.000Z' }, { start: '2026-11-20T12:00:00.000Z', end: '2026-11-20T13:00:00.000Z' }].filter(
        (i) => i.start < SEMANTICS_WINDOW.to,
      ),
    );
    expect(requests()).toEqual(['PROPFIND /user/calendars/']);
  });

  it('issue 16 on Xandikos: a weekly 45-hour series across the March change, a daily series since 2012 (Xandikos\'s own time-range test misses it), a Windows zone name, Outlook FREE', async () => {
    const cal = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Another Client//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
    const ev = (...lines: string[]) => ['BEGIN:VEVENT', `UID:${randomUUID()}`, 'DTSTAMP:20261201T000000Z', 'SUMMARY:Private', ...lines, 'END:VEVENT'];
    await putObjects(`${xandikos.backendUrl}${xandikos.calendarPath}`, { username: 'x', password: 'x' }, [
      cal(...BERLIN_VTIMEZONE, ...ev('DTSTART;TZID=Europe/Berlin:20270319T090000', 'DTEND;TZID=Europe/Berlin:20270321T060000', 'RRULE:FREQ=WEEKLY;COUNT=3')),
      cal(...BERLIN_VTIMEZONE, ...ev('DTSTART;TZID=Europe/Berlin:20120402T090000', 'DTEND;TZID=Europe/Berlin:20120402T093000', 'RRULE:FREQ=DAILY;BYMONTH=4')),
      cal(...ev('DTSTART;TZID=W. Europe Standard Time:20270420T090000', 'DTEND;TZID=W. Europe Standard Time:20270420T100000')),
      cal(...ev('DTSTART:20270421T090000Z', 'DTEND:20270421T100000Z', 'X-MICROSOFT-CDO-INTENDEDSTATUS:FREE')),
    ]);
    const i = (start: string, end: string) => ({ start: `${start}:00.000Z`, end: `${end}:00.000Z` });
    // Fri 09:00 Berlin + 45 real hours each week (CET, CET, CEST); the April daily 09:00 CEST
    // (07:00Z) since 2012: on 2 and 3 April inside the third weekly instance.
    // (Xandikos, like Radicale, stores DURATION:PT25H as P1DT1H, a nominal day: that case is on Radicale, served by the proxy.)
    expect((await busy({ from: '2027-03-12T00:00:00Z', to: '2027-04-10T00:00:00Z' })).body.busy).toEqual([
      i('2027-03-19T08:00', '2027-03-21T05:00'),
      i('2027-03-26T08:00', '2027-03-28T05:00'),
      i('2027-04-01T07:00', '2027-04-01T07:30'),
      i('2027-04-02T07:00', '2027-04-04T04:00'),
      ...['04', '05', '06', '07', '08', '09'].map((d) => i(`2027-04-${d}T07:00`, `2027-04-${d}T07:30`)),
    ]);
    // 09:00 "W. Europe Standard Time" (Berlin, CEST) = 07:00Z, over the daily 07:00–07:30; the 21st's 09:00Z is FREE (Outlook).
    expect((await busy({ from: '2027-04-20T00:00:00Z', to: '2027-04-22T00:00:00Z' })).body.busy).toEqual([i('2027-04-20T07:00', '2027-04-20T08:00'), i('2027-04-21T07:00', '2027-04-21T07:30')]);
  });

  it('a rejected password: 409 reconnect_required and the connection turns error', async () => {
    await xandikos.setPassword(APPLE_ID, 'zzzz-zzzz-zzzz-zzzz');
    const res = await busy(SEMANTICS_WINDOW);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('reconnect_required');
    expect((await ctx.api('GET', ME)).body.status).toBe('error');
  });
});
