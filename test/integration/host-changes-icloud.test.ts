/**
 * Host-change detection against the stricter iCloud simulator, through the local stack (two
 * consumers, 2 s interval): sync tokens that expire (a bare 403 inside sync-collection),
 * ETag-less PUT answers, and listings that lag writes must not turn into false reports or an
 * `error` status; real host changes are still reported exactly once.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { bookingEvent } from '../harness/bookings.js';
import { collectReports, moreChecks, hostDeletes, hostEdits, moveTo } from '../harness/host.js';
import { until } from '../harness/wait.js';
import { testStack } from '../harness/stack.js';
import { ICLOUD_SIM_CALENDARS, SIM_HOSTS, startICloudSim, type ICloudSim } from '../servers/icloud-sim/index.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const USERS = { expiry: 'expiry@icloud.example', lag: 'lag@icloud.example' };
const LAG_MS = 3_000;

let radicale: RadicaleServer;
let sim: ICloudSim;
let ctx: Awaited<ReturnType<typeof testStack>>;
let bookings: BookingStore;
let reports: ReturnType<typeof collectReports>;

beforeAll(async () => {
  radicale = await startRadicale({
    users: Object.fromEntries(Object.values(USERS).map((u) => [u, PASSWORD])),
    calendars: Object.fromEntries(Object.values(USERS).map((u) => [u, ICLOUD_SIM_CALENDARS])),
  });
  sim = await startICloudSim({ radicale });
  ctx = await testStack(sim.url, {
    caldavAllowedHosts: SIM_HOSTS.join(','),
    poll: true,
    consumers: 2,
    sweep: false,
    hostChecks: true,
    // Shorter than the simulator's lag here, so checks do run while listings and GETs lag.
    hostChangesIntervalSeconds: 2,
    // Longer than the simulator's lag: an event missing that soon after a write is looked at again.
    hostChangesReadLagSeconds: 5,
    logLevel: 'DEBUG',
  });
  bookings = new BookingStore(ctx.stack.table);
  reports = collectReports(ctx.stack);
});

afterAll(async () => {
  await reports?.stop();
  await ctx?.stack.stop();
  await sim?.stop();
  await radicale?.stop();
});

const send = (e: ReturnType<typeof bookingEvent>) => ctx.stack.sqs.send(new SendMessageCommand({ QueueUrl: ctx.stack.queueUrl, MessageGroupId: e.userId, MessageBody: JSON.stringify(e) }));
const settled = (account: string, bookingId: string, seq: number) => until(`${bookingId}@${seq} written`, async () => (await bookings.get(account, bookingId))?.appliedSeq === seq);
const checks = (account: string, n = 2) => moreChecks(ctx.output.lines, account, n);
const objectUrl = (user: string, account: string, bookingId: string) => `${sim.calendarUrl(user, 'home')}${bookingObjectId(account, bookingId).filename}`;

it('an expired sync token (bare 403) means a full re-read: no false report, no error status; a real change is still reported once', async () => {
  const user = USERS.expiry;
  const account = 'acct-expiry';
  expect((await ctx.api('POST', account, { appleId: user, appSpecificPassword: PASSWORD })).status).toBe(201);
  sim.setEtaglessPuts(true);
  try {
    await send(bookingEvent('confirmed', account, 'tok', 0));
    await settled(account, 'tok', 0);
    await checks(account);
    // The token the detection holds expires; the connector's own write changes the calendar.
    sim.expireSyncTokens(user);
    const answered = sim.expiredTokenAnswers;
    await send(bookingEvent('updated', account, 'tok', 1, { title: 'Renamed by the booking service' }));
    await settled(account, 'tok', 1);
    await checks(account, 3);
    expect(sim.expiredTokenAnswers).toBeGreaterThan(answered);
    expect(reports.of(account)).toEqual([]);
    expect((await ctx.api('GET', account)).body.status).toBe('active');

    // A real reschedule while the token is expired again: reported once, from the full re-read.
    sim.expireSyncTokens(user);
    await hostEdits(objectUrl(user, account, 'tok'), { username: user, password: PASSWORD }, moveTo('20261210T100000Z', '20261210T110000Z'));
    await until('the reschedule is reported', () => reports.of(account).length > 0);
    await checks(account, 3);
    expect(reports.of(account).map((r) => r.body)).toEqual([
      expect.objectContaining({ type: 'calendar.event.rescheduled', booking: { id: 'tok', sequence: 1 }, event: { start: '2026-12-10T10:00:00.000Z', end: '2026-12-10T11:00:00.000Z' } }),
    ]);
  } finally {
    sim.setEtaglessPuts(false);
  }
});

it('listings that lag writes are not deletions: an event just written and missing is looked at again; a real deletion is reported once', async () => {
  const user = USERS.lag;
  const account = 'acct-lag';
  expect((await ctx.api('POST', account, { appleId: user, appSpecificPassword: PASSWORD })).status).toBe(201);
  sim.setReadLag(LAG_MS);
  try {
    await send(bookingEvent('confirmed', account, 'lag', 0));
    await settled(account, 'lag', 0);
    // Checks run while listings and GETs still show the calendar without the new event.
    await checks(account, 2);
    await new Promise((r) => setTimeout(r, LAG_MS));
    await checks(account, 2);
    expect(ctx.output.lines().some((l) => l.message === 'host-change check' && l.accountId === account && Number(l.deferred) > 0)).toBe(true);
    expect(reports.of(account)).toEqual([]);

    await hostDeletes(objectUrl(user, account, 'lag'), { username: user, password: PASSWORD });
    await until('the deletion is reported', () => reports.of(account).length > 0);
    await checks(account, 3);
    expect(reports.of(account).map((r) => r.body)).toEqual([expect.objectContaining({ type: 'calendar.event.deleted', booking: { id: 'lag', sequence: 0 } })]);
  } finally {
    sim.setReadLag(0);
  }
});
