/**
 * Busy times against Xandikos (behind a Basic-auth proxy) through the local stack: the same
 * semantics as on Radicale with events written by another client, and the request counts.
 * Xandikos's sync-collection leaves calendar-data out: the first changed read fetches the
 * changed object with a calendar-multiget (3 requests), after which a changed calendar is
 * read whole with one calendar-query (2 requests).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_DAY_BERLIN, FLOATING_NEW_YORK, oneEvent, putObjects, semanticsObjects, SEMANTICS_BUSY_UTC, SEMANTICS_WINDOW } from '../harness/busy-fixtures.js';
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

  it('cold read: one calendar-query per checked calendar, and every rule gives the hand-worked intervals', async () => {
    const checked = (await ctx.api('GET', ME)).body.calendars.filter((c: any) => c.checkedForConflicts).length;
    xandikos.proxy.reset();
    const res = await busy(SEMANTICS_WINDOW);
    expect(res.status).toBe(200);
    expect(res.body.busy).toEqual(SEMANTICS_BUSY_UTC);
    expect(requests().filter((r) => r.startsWith('REPORT'))).toHaveLength(checked);
    expect(requests()).toHaveLength(checked);
  });

  it('all-day in Europe/Berlin, floating in America/New_York (warm: one PROPFIND each)', async () => {
    for (const { busy: expected, ...q } of [ALL_DAY_BERLIN, FLOATING_NEW_YORK]) {
      xandikos.proxy.reset();
      expect((await busy(q)).body.busy).toEqual(expected);
      expect(requests()).toEqual(['PROPFIND /user/calendars/']);
    }
  });

  it('one event changed: the change is seen; 3 requests the first time (multiget), 2 from then on', async () => {
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
    expect(requests()).toEqual(['PROPFIND /user/calendars/', `REPORT ${xandikos.calendarPath}`]);

    xandikos.proxy.reset();
    expect((await busy(SEMANTICS_WINDOW)).body.busy).toEqual(
      [...SEMANTICS_BUSY_UTC, { start: '2026-11-20T09:00:00.000Z', end: '2026-11-20T10:00:00.000Z' }, { start: '2026-11-20T12:00:00.000Z', end: '2026-11-20T13:00:00.000Z' }].filter(
        (i) => i.start < SEMANTICS_WINDOW.to,
      ),
    );
    expect(requests()).toEqual(['PROPFIND /user/calendars/']);
  });

  it('a rejected password: 409 reconnect_required and the connection turns error', async () => {
    await xandikos.setPassword(APPLE_ID, 'zzzz-zzzz-zzzz-zzzz');
    const res = await busy(SEMANTICS_WINDOW);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('reconnect_required');
    expect((await ctx.api('GET', ME)).body.status).toBe('error');
  });
});
