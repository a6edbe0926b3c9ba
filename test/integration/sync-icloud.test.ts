/**
 * Booking sync against the stricter iCloud simulator (issue #11). Each test drives the real
 * `syncBatch` with deps built here (no queue, no Lambda handler), one Apple ID per test so
 * throttles and partition moves don't leak between tests. Redelivery is modelled by
 * `deliverUntilSettled`: a message that comes back `retry` is delivered again exactly when
 * the connector asked (its `retryAfterSeconds`, else 1 s) — so the pacing measured is the
 * connector's own.
 *
 * The `phase 2:` block holds the behaviours today's sync does not have yet; they are
 * expected to fail until the sync rework lands (see docs/icloud.md).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CalendarObjects } from '../../shared/caldav/objects.js';
import { localCipher } from '../../shared/cipher/local.js';
import { connect } from '../../shared/connection/connect.js';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { localAppleIdMac } from '../../shared/connection/apple-id-mac.js';
import { AttemptStore, CONNECT_LIMIT } from '../../shared/store/attempts.js';
import { appleIdKey } from '../../shared/store/table.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { PasswordCache } from '../../shared/sync/password-cache.js';
import { syncBatch, type BatchDeps, type MessageResult } from '../../shared/sync/sync-batch.js';
import { bookingEvent } from '../harness/bookings.js';
import { startTable } from '../harness/dynamo.js';
import { parseIcs } from '../harness/ics.js';
import { recordingLog } from '../harness/log.js';
import { ICLOUD_SIM_CALENDARS, SIM_HOSTS, startICloudSim, type ICloudSim } from '../servers/icloud-sim/index.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const USERS = ['moved', 'moved-cancel', 'etagless', 'throttled', 'partition', 'mail'] as const;
type User = (typeof USERS)[number];
const appleId = (u: User) => `${u}@icloud.example`;
const accountOf = (u: User) => `acct-${u}`;

let radicale: RadicaleServer;
let sim: ICloudSim;
let db: Awaited<ReturnType<typeof startTable>>;
const cipher = localCipher(randomBytes(32));
const log = recordingLog();
let deps: BatchDeps;

beforeAll(async () => {
  const users = Object.fromEntries(USERS.map((u) => [appleId(u), PASSWORD]));
  [radicale, db] = await Promise.all([
    startRadicale({ users, calendars: Object.fromEntries(USERS.map((u) => [appleId(u), ICLOUD_SIM_CALENDARS])) }),
    startTable(),
  ]);
  sim = await startICloudSim({ radicale });
  const caldav = { serverUrl: sim.url, timeoutMs: 5_000, allowedHosts: SIM_HOSTS };
  deps = {
    connections: new ConnectionStore(db.table),
    bookings: new BookingStore(db.table),
    objects: new CalendarObjects(caldav),
    attendeeMode: 'attendees',
    caldav,
    log,
    passwords: new PasswordCache(cipher),
    retryBaseSeconds: 1,
    random: () => 0,
  };
  for (const u of USERS) {
    await connect(
      {
        connections: deps.connections,
        limits: { accounts: new AttemptStore(db.table), appleIds: new AttemptStore(db.table, CONNECT_LIMIT, Date.now, appleIdKey), mac: localAppleIdMac(randomBytes(32)) },
        cipher,
        caldav,
        log,
        details: async () => ({ status: 'not_connected' }),
      },
      accountOf(u),
      { appleId: appleId(u), appSpecificPassword: PASSWORD },
    );
  }
});

afterAll(async () => {
  await sim?.stop();
  await Promise.all([radicale?.stop(), db?.stop()]);
});

type Msg = ReturnType<typeof bookingEvent>;
let ids = 0;

/** One delivery of a batch (≤ 10 messages, like SQS). */
async function deliver(msgs: Msg[]): Promise<MessageResult[]> {
  return syncBatch(
    deps,
    msgs.map((m) => ({ id: `m${++ids}`, body: JSON.stringify(m) })),
  );
}

/**
 * Delivers until every message has a final result, redelivering `retry` ones when the
 * connector asked (`retryAfterSeconds`, else 1 s), in batches of up to 10.
 */
async function deliverUntilSettled(msgs: Msg[], deadlineMs: number): Promise<{ results: Map<Msg, MessageResult>; deliveries: number }> {
  const queue = msgs.map((msg) => ({ msg, dueAt: Date.now() }));
  const results = new Map<Msg, MessageResult>();
  let deliveries = 0;
  const end = Date.now() + deadlineMs;
  while (queue.length && Date.now() < end) {
    const now = Date.now();
    const due = queue.filter((q) => q.dueAt <= now).slice(0, 10);
    if (!due.length) {
      await new Promise((r) => setTimeout(r, Math.min(...queue.map((q) => q.dueAt)) - now));
      continue;
    }
    deliveries++;
    const out = await deliver(due.map((q) => q.msg));
    due.forEach((q, i) => {
      const r = out[i]!;
      results.set(q.msg, r);
      if (r.kind === 'retry') q.dueAt = Date.now() + Math.max(1, r.retryAfterSeconds ?? 1) * 1000;
      else queue.splice(queue.indexOf(q), 1);
    });
  }
  return { results, deliveries };
}

const uidOf = (u: User, bookingId: string) => bookingObjectId(accountOf(u), bookingId).uid;
const summaryOf = (text: string) => parseIcs(text).events[0]?.get('SUMMARY')?.value;
const resultsOf = (rs: MessageResult[]) => rs.map((r) => r.kind);

describe('on the iCloud simulator: today', () => {
  it('no scheduling mails for a booking with attendees: confirm, update, cancel', async () => {
    const attendees = [
      { name: 'Ann', email: 'ann@example.com' },
      { name: 'Bob', email: 'bob@example.com' },
    ];
    sim.reset();
    expect(resultsOf(await deliver([bookingEvent('confirmed', accountOf('mail'), 'bk_mail', 0, { attendees })]))).toEqual(['ok']);
    expect(resultsOf(await deliver([bookingEvent('updated', accountOf('mail'), 'bk_mail', 1, { attendees, title: 'Rescheduled' })]))).toEqual(['ok']);
    expect(await sim.objectsWithUid(appleId('mail'), uidOf('mail', 'bk_mail'))).toHaveLength(1);
    expect(resultsOf(await deliver([bookingEvent('cancelled', accountOf('mail'), 'bk_mail', 2)]))).toEqual(['ok']);
    expect(sim.requests.filter((r) => r.user === appleId('mail')).map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 201', 'PUT 201', 'DELETE 200']);
    expect(sim.mails).toEqual([]);
  });

  it('ETag-less PUT answers (and reads that lag writes): create, update, cancel all work; one object, final content right', async () => {
    sim.setEtaglessPuts(true);
    sim.setReadLag(1_500);
    try {
      const a = accountOf('etagless');
      const uid = uidOf('etagless', 'bk_noetag');
      expect(resultsOf(await deliver([bookingEvent('confirmed', a, 'bk_noetag', 0)]))).toEqual(['ok']);
      expect(resultsOf(await deliver([bookingEvent('updated', a, 'bk_noetag', 1, { title: 'Second' })]))).toEqual(['ok']);
      expect(resultsOf(await deliver([bookingEvent('updated', a, 'bk_noetag', 2, { title: 'Third' })]))).toEqual(['ok']);
      const objs = await sim.objectsWithUid(appleId('etagless'), uid);
      expect(objs.map((o) => [o.calendar, summaryOf(o.text)])).toEqual([['home', 'Third']]);
      expect(resultsOf(await deliver([bookingEvent('cancelled', a, 'bk_noetag', 3)]))).toEqual(['ok']);
      expect(await sim.objectsWithUid(appleId('etagless'), uid)).toEqual([]);
    } finally {
      sim.setEtaglessPuts(false);
      sim.setReadLag(0);
    }
  });

  it('partition move: exactly one re-discovery, the new calendar URL is kept, later writes go straight to the new partition', async () => {
    const u: User = 'partition';
    const a = accountOf(u);
    const user = appleId(u);
    const before = (await deps.connections.get(a))!.calendarUrl;
    expect(before).toBe(sim.calendarUrl(user, 'home'));
    const bookings = ['bk_p1', 'bk_p2', 'bk_p3', 'bk_p4'];
    expect(resultsOf(await deliver(bookings.map((b) => bookingEvent('confirmed', a, b, 0))))).toEqual(['ok', 'ok', 'ok', 'ok']);

    const oldPartition = sim.partitionUrlOf(user);
    const newPartition = sim.movePartition(user);
    try {
      sim.reset();
      expect(resultsOf(await deliver(bookings.map((b) => bookingEvent('updated', a, b, 1, { title: `${b} after the move` }))))).toEqual(['ok', 'ok', 'ok', 'ok']);
      const mine = () => sim.requests.filter((r) => r.user === user);
      // One discovery: a single PROPFIND / on the canonical host (and one principal lookup).
      expect(mine().filter((r) => r.origin === sim.url && r.path === '/').length).toBe(1);
      expect(log.entries.filter((e) => e.message === 'calendar re-discovered' && (e.attributes[0] as { accountId: string }).accountId === a)).toHaveLength(1);
      const stored = (await deps.connections.get(a))!;
      expect(stored.calendarUrl).toBe(sim.calendarUrl(user, 'home'));
      expect(new URL(stored.calendarUrl).origin).toBe(newPartition);
      for (const b of bookings) {
        const objs = await sim.objectsWithUid(user, uidOf(u, b));
        expect(objs.map((o) => summaryOf(o.text))).toEqual([`${b} after the move`]);
      }

      // From now on: straight to the new partition, one request per change, nothing on the old one or the canonical host.
      sim.reset();
      expect(resultsOf(await deliver([bookingEvent('updated', a, 'bk_p1', 2, { title: 'later' })]))).toEqual(['ok']);
      expect(mine().map((r) => `${r.origin === newPartition ? 'new' : r.origin === oldPartition ? 'old' : 'canonical'} ${r.method} ${r.status}`)).toEqual(['new PUT 201']);
    } finally {
      sim.movePartition(user);
    }
  });
});

describe('on the iCloud simulator, the hard cases: sync that survives the stricter iCloud', () => {
  it('an event moved to "Work" in the Calendar app, then the booking updated: exactly one object with its UID in the account, in Work, with the new content', async () => {
    const u: User = 'moved';
    const a = accountOf(u);
    const uid = uidOf(u, 'bk_move');
    expect(resultsOf(await deliver([bookingEvent('confirmed', a, 'bk_move', 0)]))).toEqual(['ok']);
    await sim.moveEvent(appleId(u), uid, 'home', 'work');

    const out = await deliver([bookingEvent('updated', a, 'bk_move', 1, { title: 'Updated after the move' })]);
    const objs = await sim.objectsWithUid(appleId(u), uid);
    expect(objs.map((o) => [o.calendar, summaryOf(o.text)])).toEqual([['work', 'Updated after the move']]);
    expect(resultsOf(out)).toEqual(['ok']);
    // And it stays found: the next update is written in Work too.
    expect(resultsOf(await deliver([bookingEvent('updated', a, 'bk_move', 2, { title: 'Again' })]))).toEqual(['ok']);
    expect((await sim.objectsWithUid(appleId(u), uid)).map((o) => [o.calendar, summaryOf(o.text)])).toEqual([['work', 'Again']]);
  });

  it('an event moved to "Work", then the booking cancelled: no object with its UID is left in the account', async () => {
    const u: User = 'moved-cancel';
    const a = accountOf(u);
    const uid = uidOf(u, 'bk_move_cancel');
    expect(resultsOf(await deliver([bookingEvent('confirmed', a, 'bk_move_cancel', 0)]))).toEqual(['ok']);
    await sim.moveEvent(appleId(u), uid, 'home', 'work');

    const out = await deliver([bookingEvent('cancelled', a, 'bk_move_cancel', 1)]);
    expect(await sim.objectsWithUid(appleId(u), uid)).toEqual([]);
    expect(resultsOf(out)).toEqual(['ok']);
  });

  it('a 6 s per-account throttle with Retry-After: 1 — at most a handful of requests during it; every booking written exactly once afterwards', { timeout: 90_000 }, async () => {
    const u: User = 'throttled';
    const a = accountOf(u);
    const user = appleId(u);
    const bookings = Array.from({ length: 10 }, (_, i) => `bk_t${i}`);
    sim.reset();
    sim.throttle(user, 6_000, 1);
    const { results } = await deliverUntilSettled(
      bookings.map((b) => bookingEvent('confirmed', a, b, 0)),
      60_000,
    );

    const during = sim.throttledRequests(user);
    const writes = sim.requests.filter((r) => r.user === user && r.method === 'PUT' && r.status >= 200 && r.status < 300);
    const perBooking = bookings.map((b) => writes.filter((w) => w.path.endsWith(`/${bookingObjectId(a, b).filename}`)).length);
    for (const b of bookings) expect(await sim.objectsWithUid(user, uidOf(u, b))).toHaveLength(1);
    expect([...results.values()].map((r) => r.kind)).toEqual(bookings.map(() => 'ok'));
    expect(perBooking).toEqual(bookings.map(() => 1));
    expect(during.length).toBeLessThanOrEqual(5);
  });
});
