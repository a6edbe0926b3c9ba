/**
 * Host changes flow back (issue 18, contract §2b), through the local stack: two consumers of
 * booking-events.fifo, the host-change scheduler on a 1 s interval, a real Radicale with two
 * calendars, reports read from calendar-changes.fifo as the booking service would. The host's
 * edits go straight to Radicale, as the Calendar app's would; times are checked by hand.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { calendarChangeSchema } from '../../shared/host-changes/calendar-change.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { bookingEvent } from '../harness/bookings.js';
import { collectReports, moreChecks, hostDeletes, hostEdits, moveTo, retitle } from '../harness/host.js';
import { until } from '../harness/wait.js';
import { testStack, type Stack } from '../harness/stack.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ANN = 'ann@example.com';
const HOST = { username: ANN, password: PASSWORD };
const INTERVAL_S = 1;

let radicale: RadicaleServer;
let stack: Stack;
let ctx: Awaited<ReturnType<typeof testStack>>;
let bookings: BookingStore;
let reports: ReturnType<typeof collectReports>;

beforeAll(async () => {
  radicale = await startRadicale({ users: { [ANN]: PASSWORD }, calendars: { [ANN]: [{ slug: 'home', displayName: 'Home' }, { slug: 'work', displayName: 'Work' }] } });
  ctx = await testStack(radicale.url, { poll: true, consumers: 2, sweep: false, hostChecks: true, hostChangesIntervalSeconds: INTERVAL_S, hostChangesReadLagSeconds: 0, logLevel: 'DEBUG' });
  stack = ctx.stack;
  bookings = new BookingStore(stack.table);
  reports = collectReports(stack);
});

afterAll(async () => {
  await reports?.stop();
  await stack?.stop();
  await radicale?.stop();
});

let accounts = 0;
async function connected() {
  const account = `acct-host-${++accounts}`;
  const res = await ctx.api('POST', account, { appleId: ANN, appSpecificPassword: PASSWORD });
  expect(res.status).toBe(201);
  return account;
}

async function send(...events: Array<ReturnType<typeof bookingEvent>>) {
  for (const e of events) await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: e.userId, MessageBody: JSON.stringify(e) }));
}


const settled = (account: string, bookingId: string, seq: number) =>
  until(`${bookingId}@${seq} written`, async () => {
    const r = await bookings.get(account, bookingId);
    return r?.appliedSeq === seq && r;
  });

const checks = (account: string, n = 2) => moreChecks(ctx.output.lines, account, n);

const radicaleUrl = (account: string, bookingId: string, slug = 'home') => `${radicale.url}/${ANN}/${slug}/${bookingObjectId(account, bookingId).filename}`;
const exists = async (url: string) => (await fetch(url, { headers: { authorization: 'Basic ' + Buffer.from(`${ANN}:${PASSWORD}`).toString('base64') } })).status === 200;

describe('host changes in Apple Calendar', () => {
  it("the connector's own creates, updates, cancels and redeliveries, and a host title edit, are never reported", async () => {
    const account = await connected();
    await send(bookingEvent('confirmed', account, 'own', 0));
    await settled(account, 'own', 0);
    await checks(account);
    await send(bookingEvent('updated', account, 'own', 1, { start: '2026-12-01T16:00:00+01:00', end: '2026-12-01T17:00:00+01:00' }));
    await settled(account, 'own', 1);
    await send(bookingEvent('updated', account, 'own', 1, { start: '2026-12-01T16:00:00+01:00', end: '2026-12-01T17:00:00+01:00' }), bookingEvent('confirmed', account, 'own', 0));
    await checks(account);
    await hostEdits(radicaleUrl(account, 'own'), HOST, retitle('Renamed by the host'));
    await checks(account);
    await send(bookingEvent('confirmed', account, 'own2', 0), bookingEvent('cancelled', account, 'own2', 1));
    await settled(account, 'own2', 1);
    await checks(account);
    expect(reports.of(account)).toEqual([]);
  });

  it('a host deletion is reported once, within an interval plus a minute, and the event is not re-created until a higher sequence', async () => {
    const account = await connected();
    await send(bookingEvent('confirmed', account, 'del', 3));
    await settled(account, 'del', 3);
    await checks(account);
    const deletedAt = Date.now();
    await hostDeletes(radicaleUrl(account, 'del'), HOST);
    const [report] = await until('a deleted report', () => reports.of(account).length > 0 && reports.of(account));
    expect(report!.at - deletedAt).toBeLessThan((INTERVAL_S + 60) * 1000);
    expect(report!.body).toEqual({ type: 'calendar.event.deleted', userId: account, detectedAt: expect.any(String), booking: { id: 'del', sequence: 3 } });
    expect(calendarChangeSchema.safeParse(report!.body).success).toBe(true);
    expect(report!.groupId).toBe(account);
    expect(report!.dedupId).toBe('del:3:deleted');

    // Later intervals, a redelivery of the same change, the sweeper: no second report, no re-creation.
    await send(bookingEvent('confirmed', account, 'del', 3));
    await checks(account, 3);
    await stack.sweep();
    await checks(account);
    expect(await exists(radicaleUrl(account, 'del'))).toBe(false);
    expect(reports.of(account)).toHaveLength(1);
    expect((await bookings.get(account, 'del'))?.hostChange).toMatchObject({ kind: 'deleted', seq: 3 });

    // The booking itself changes: written as usual (created again), nothing reported.
    await send(bookingEvent('updated', account, 'del', 4));
    await settled(account, 'del', 4);
    expect(await exists(radicaleUrl(account, 'del'))).toBe(true);
    await checks(account);
    expect(reports.of(account)).toHaveLength(1);
  });

  it('a host reschedule is reported once with the new times; the event is not moved back until a higher sequence', async () => {
    const account = await connected();
    await send(bookingEvent('confirmed', account, 'mv', 0, { start: '2026-12-01T15:00:00+01:00', end: '2026-12-01T15:30:00+01:00' }));
    await settled(account, 'mv', 0);
    await checks(account);
    await hostEdits(radicaleUrl(account, 'mv'), HOST, moveTo('20261202T090000Z', '20261202T094500Z'));
    const [report] = await until('a rescheduled report', () => reports.of(account).length > 0 && reports.of(account));
    expect(report!.body).toEqual({
      type: 'calendar.event.rescheduled',
      userId: account,
      detectedAt: expect.any(String),
      booking: { id: 'mv', sequence: 0 },
      event: { start: '2026-12-02T09:00:00.000Z', end: '2026-12-02T09:45:00.000Z' },
    });
    expect(report!.dedupId).toBe('mv:0:rescheduled:2026-12-02T09:00:00.000Z');

    await send(bookingEvent('confirmed', account, 'mv', 0));
    await checks(account, 3);
    const held = await (await fetch(radicaleUrl(account, 'mv'), { headers: { authorization: 'Basic ' + Buffer.from(`${ANN}:${PASSWORD}`).toString('base64') } })).text();
    expect(held).toContain('DTSTART:20261202T090000Z');
    expect(reports.of(account)).toHaveLength(1);

    // The host moves it once more: a second, different report.
    await hostEdits(radicaleUrl(account, 'mv'), HOST, moveTo('20261203T090000Z', '20261203T100000Z'));
    await until('a second rescheduled report', () => reports.of(account).length > 1);
    expect(reports.of(account)[1]!.body).toMatchObject({ event: { start: '2026-12-03T09:00:00.000Z', end: '2026-12-03T10:00:00.000Z' } });

    // A higher sequence is written as usual: the booking's times, no report.
    await send(bookingEvent('updated', account, 'mv', 1, { start: '2026-12-01T15:00:00+01:00', end: '2026-12-01T15:30:00+01:00' }));
    await settled(account, 'mv', 1);
    await checks(account);
    const written = await (await fetch(radicaleUrl(account, 'mv'), { headers: { authorization: 'Basic ' + Buffer.from(`${ANN}:${PASSWORD}`).toString('base64') } })).text();
    expect(written).toContain('DTSTART:20261201T140000Z');
    expect(reports.of(account)).toHaveLength(2);
  });

  it('an event the host moves to another calendar is not a deletion: it is watched (and updated) there', async () => {
    const account = await connected();
    await send(bookingEvent('confirmed', account, 'cal', 0));
    await settled(account, 'cal', 0);
    await checks(account);
    // The Calendar app's move: a new object under a random name in Work, the old one deleted.
    const from = radicaleUrl(account, 'cal');
    const ics = await (await fetch(from, { headers: { authorization: 'Basic ' + Buffer.from(`${ANN}:${PASSWORD}`).toString('base64') } })).text();
    const to = `${radicale.url}/${ANN}/work/MOVED-${account}.ics`;
    const put = await fetch(to, { method: 'PUT', headers: { authorization: 'Basic ' + Buffer.from(`${ANN}:${PASSWORD}`).toString('base64'), 'content-type': 'text/calendar' }, body: ics });
    expect(put.status).toBeLessThan(300);
    await hostDeletes(from, HOST);
    await until('the record follows the move', async () => (await bookings.get(account, 'cal'))?.eventUrl?.includes('/work/'));
    await checks(account, 2);
    expect(reports.of(account)).toEqual([]);

    // Rescheduled where it now is: reported.
    await hostEdits(to, HOST, moveTo('20261205T080000Z', '20261205T083000Z'));
    await until('a rescheduled report', () => reports.of(account).length > 0);
    expect(reports.of(account)[0]!.body).toMatchObject({ type: 'calendar.event.rescheduled', event: { start: '2026-12-05T08:00:00.000Z' } });
  });

  it('when nothing changed, a check costs one CalDAV request', async () => {
    const account = await connected();
    await send(bookingEvent('confirmed', account, 'quiet', 0));
    await settled(account, 'quiet', 0);
    await checks(account, 2);
    const before = ctx.output.published.length;
    await checks(account, 2);
    const mine = ctx.output.published.slice(before).filter((m) => 'HostCheckRequests' in m.values);
    expect(mine.length).toBeGreaterThan(0);
    // Every account of the stack is checked (a batch may hold several); each quiet check is one PROPFIND of the home.
    expect(mine.map((m) => m.values.HostCheckRequests! / m.values.HostChecks!)).toEqual(mine.map(() => 1));
  });
});
