/**
 * The sync as a system (issue 9), on the local stack with two consumers of the FIFO queue, a
 * real Radicale behind a fault-injecting proxy and dynalite. Each test reproduces one way the
 * sync used to go wrong when several parts run at once — two invocations, a reconnect, a
 * disconnect, an outage longer than the retries — and shows it no longer does. Races are
 * provoked, not hoped for: a request is held at the proxy, or a DynamoDB write is held in the
 * stack's own client, until the other party has acted.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { bookingEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';
import { parseIcs } from '../harness/ics.js';
import { testStack, type Stack } from '../harness/stack.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const NEW_PASSWORD = 'qrst-uvwx-yzab-cdef';
const ANN = 'ann@example.com';
const BOB = 'bob@example.com';

let radicale: RadicaleServer;
let proxy: Proxy;
let stack: Stack;
let ctx: Awaited<ReturnType<typeof testStack>>;
let bookings: BookingStore;

beforeAll(async () => {
  radicale = await startRadicale({ users: { [ANN]: PASSWORD, [BOB]: PASSWORD } });
  proxy = await startProxy({ target: radicale.url });
  // Two consumers honouring message groups, as in the cloud; retries in seconds; a message
  // runs out of receives after 3 (the sync hands valid changes to the sweeper before that).
  ctx = await testStack(proxy.url, { poll: true, consumers: 2, sweep: false, maxReceiveCount: 3, sweepIntervalSeconds: 1 });
  stack = ctx.stack;
  bookings = new BookingStore(stack.table);
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await radicale?.stop();
});

beforeEach(() => {
  proxy.setFault(undefined);
  proxy.reset();
});

let accounts = 0;
async function connected(appleId = ANN, password = PASSWORD) {
  const account = `acct-sys-${++accounts}`;
  const res = await ctx.api('POST', account, { appleId, appSpecificPassword: password });
  expect(res.status).toBe(201);
  return { account, calendarUrl: res.body.calendar.url as string };
}

/** Sends booking events as the booking service does: FIFO, the account's message group. */
async function send(...events: Array<ReturnType<typeof bookingEvent>>) {
  for (const e of events) await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: e.userId, MessageBody: JSON.stringify(e) }));
}

/** Awaits a condition on the system's state (checked every 50 ms), failing after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const record = (account: string, bookingId: string) => bookings.get(account, bookingId);
const settled = (account: string, bookingId: string, seq: number) =>
  until(`${bookingId}@${seq} written`, async () => {
    const r = await record(account, bookingId);
    return r?.appliedSeq === seq && r;
  });
const objectPath = (calendarUrl: string, account: string, bookingId: string) => new URL(bookingObjectId(account, bookingId).filename, calendarUrl).pathname;
const eventsWithUid = async (calendarUrl: string, account: string, bookingId: string, password = PASSWORD, user = ANN) => {
  const uid = bookingObjectId(account, bookingId).uid;
  const objects = await readCalendar(`${radicale.url}${new URL(calendarUrl).pathname}`, { username: user, password });
  return [...objects.values()].map((t) => parseIcs(t).events[0]!).filter((e) => e.get('UID')?.value === uid);
};

/** Resolves after `n` polls of the queue came back empty (the account's group is locked meanwhile). */
function idlePolls(n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onIdle = () => {
      if (++seen < n) return;
      for (const c of stack.consumers) c.events.off('idle', onIdle);
      resolve();
    };
    for (const c of stack.consumers) c.events.on('idle', onIdle);
  });
}

/**
 * Holds matching requests at the proxy until released, then forwards them (or answers `after`
 * instead, never reaching the server); `arrived` resolves when the first one comes.
 */
function holdAtProxy(match: (req: { method: string; path: string }) => boolean, after?: { status: number; headers?: Record<string, string> }) {
  let release!: () => void;
  let seen!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const arrived = new Promise<void>((r) => (seen = r));
  proxy.setFault(async (req) => {
    if (!match(req)) return undefined;
    seen();
    await released;
    return after;
  });
  return { arrived, release };
}

/** Holds the stack's first DynamoDB write matching `match` until `before` has run. */
function beforeWrite(match: (input: { Key?: { sk?: string }; Item?: { sk?: string; desired?: string }; UpdateExpression?: string }) => boolean, before: () => Promise<unknown>) {
  let fired = false;
  const name = `hold-${Math.random()}`;
  stack.table.doc.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: { sk?: string }; Item?: { sk?: string; desired?: string }; UpdateExpression?: string };
      if (!fired && match(input)) {
        fired = true;
        await before();
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return () => stack.table.doc.middlewareStack.remove(name);
}
/** The write that records a booking's change: an advance (before the calendar write) or a commit (with it, after). */
const isAdvanceOf = (bookingId: string) => (input: { Key?: { sk?: string }; Item?: { sk?: string; desired?: string }; UpdateExpression?: string }) =>
  (input.Key?.sk ?? input.Item?.sk) === `BOOKING#${bookingId}` && (/desired = :desired/.test(input.UpdateExpression ?? '') || input.Item?.desired !== undefined);

async function drain(queueUrl: string) {
  const out = [];
  for (;;) {
    const res = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    if (!res.Messages?.length) return out;
    for (const m of res.Messages) await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    out.push(...res.Messages);
  }
}

describe('one writer per account (two consumers, the FIFO queue)', () => {
  it('a cancel sent while the confirm’s PUT is still in flight waits for it: the event ends deleted', async () => {
    const { account, calendarUrl } = await connected();
    const path = objectPath(calendarUrl, account, 'bk_race');
    const hold = holdAtProxy((r) => r.method === 'PUT' && r.path === path);
    await send(bookingEvent('confirmed', account, 'bk_race', 0));
    await hold.arrived; // the confirm's PUT is at the server's door
    await send(bookingEvent('cancelled', account, 'bk_race', 1));
    // Let the other consumer poll, and come back empty-handed, while the PUT is held.
    await idlePolls(2);
    expect(proxy.requests.filter((r) => r.path === path).map((r) => r.method)).toEqual(['PUT']); // nothing overtook it
    hold.release();
    await settled(account, 'bk_race', 1);
    expect(proxy.requests.filter((r) => r.path === path).map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 201', 'DELETE 200']);
    expect(await eventsWithUid(calendarUrl, account, 'bk_race')).toEqual([]);
    expect(proxy.peakInFlight.get(path)).toBe(1);
  });

  it('a newer update sent while an older one is being written ends with the newer content', async () => {
    const { account, calendarUrl } = await connected();
    await send(bookingEvent('confirmed', account, 'bk_two', 0, { title: 'v0' }));
    await settled(account, 'bk_two', 0);
    const path = objectPath(calendarUrl, account, 'bk_two');
    proxy.reset();
    const hold = holdAtProxy((r) => r.method === 'PUT' && r.path === path);
    await send(bookingEvent('updated', account, 'bk_two', 1, { title: 'v1' }));
    await hold.arrived;
    await send(bookingEvent('updated', account, 'bk_two', 2, { title: 'v2' }));
    await idlePolls(2);
    hold.release();
    await settled(account, 'bk_two', 2);
    const events = await eventsWithUid(calendarUrl, account, 'bk_two');
    expect(events.map((e) => [e.get('SUMMARY')!.value, e.get('SEQUENCE')!.value])).toEqual([['v2', '2']]);
    expect(proxy.requests.filter((r) => r.path === path).map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 201', 'PUT 201']);
    expect(proxy.peakInFlight.get(path)).toBe(1);
  });
});

describe('reconnects, disconnects and the races between them', () => {
  it('a reconnect between reading the connection and recording the change: the change is written, not stranded', async () => {
    const { account, calendarUrl } = await connected(BOB);
    await radicale.setPassword(BOB, NEW_PASSWORD);
    try {
      await send(bookingEvent('confirmed', account, 'bk_before', 0));
      await until('connection in error', async () => (await ctx.api('GET', account)).body.status === 'error');
      // The worker has read the connection (error); before it records the next change, the
      // person reconnects — and finds nothing of that change to requeue.
      const unhold = beforeWrite(isAdvanceOf('bk_stranded'), async () => {
        const res = await ctx.api('POST', account, { appleId: BOB, appSpecificPassword: NEW_PASSWORD });
        expect(res.status).toBe(200);
      });
      try {
        await send(bookingEvent('confirmed', account, 'bk_stranded', 0));
        await settled(account, 'bk_stranded', 0);
        await settled(account, 'bk_before', 0); // the held one, requeued by the reconnect
      } finally {
        unhold();
      }
      expect(await eventsWithUid(calendarUrl, account, 'bk_stranded', NEW_PASSWORD, BOB)).toHaveLength(1);
      expect(await eventsWithUid(calendarUrl, account, 'bk_before', NEW_PASSWORD, BOB)).toHaveLength(1);
      expect((await ctx.api('GET', account)).body).toMatchObject({ status: 'active', pendingChanges: 0 });
    } finally {
      await radicale.setPassword(BOB, PASSWORD);
    }
  });

  it('a 401 for a password that was replaced meanwhile is retried with the current one, not held', async () => {
    const { account, calendarUrl } = await connected(BOB);
    const path = objectPath(calendarUrl, account, 'bk_swap');
    const hold = holdAtProxy((r) => r.method === 'PUT' && r.path === path);
    try {
      await send(bookingEvent('confirmed', account, 'bk_swap', 0));
      await hold.arrived;
      // While the PUT (with the old password) is held: a new app-specific password, reconnected.
      await radicale.setPassword(BOB, NEW_PASSWORD);
      expect((await ctx.api('POST', account, { appleId: BOB, appSpecificPassword: NEW_PASSWORD })).status).toBe(200);
      hold.release();
      await settled(account, 'bk_swap', 0);
      expect(proxy.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([401, 201]);
      expect((await ctx.api('GET', account)).body).toMatchObject({ status: 'active', pendingChanges: 0 });
      expect(await eventsWithUid(calendarUrl, account, 'bk_swap', NEW_PASSWORD, BOB)).toHaveLength(1);
      // A 401 seen now counts as a rejected credential in the metrics only once, and not as "held".
      expect(ctx.output.published.reduce((n, m) => n + (m.values.CredentialsRejected ?? 0), 0)).toBeGreaterThanOrEqual(1);
    } finally {
      hold.release();
      await radicale.setPassword(BOB, PASSWORD);
    }
  });

  it('a change recorded while the account disconnects is never replayed into the next Apple ID', async () => {
    const { account } = await connected(BOB);
    // The advance of bk_orphan runs after the disconnect (the worker had read the connection
    // before it); the calendar answers 503, so the change stays pending.
    proxy.setFault((req) => (req.method === 'PUT' ? { status: 503, headers: { 'Retry-After': '1' } } : undefined));
    const unhold = beforeWrite(isAdvanceOf('bk_orphan'), async () => expect((await ctx.api('DELETE', account)).status).toBe(204));
    try {
      await send(bookingEvent('confirmed', account, 'bk_orphan', 0));
      await until('the orphan recorded and tried', async () => ((await record(account, 'bk_orphan'))?.attempts ?? 0) >= 1);
    } finally {
      unhold();
    }
    proxy.setFault(undefined);
    proxy.reset();
    // Another Apple ID is connected to the same account.
    const res = await ctx.api('POST', account, { appleId: ANN, appSpecificPassword: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body.pendingChanges).toBe(0);
    // Whatever comes first — the message's redelivery or the sweeper — drops it; nothing is written.
    await until('the orphan gone', async () => {
      await stack.sweep();
      return (await record(account, 'bk_orphan')) === undefined;
    });
    expect(await eventsWithUid(res.body.calendar.url, account, 'bk_orphan')).toEqual([]);
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toEqual([]); // not written with ANN's account
  });

  it('a cancel whose DELETE gets 404 on a stale calendar URL re-discovers and deletes the event where it is', async () => {
    const { account, calendarUrl } = await connected();
    await send(bookingEvent('confirmed', account, 'bk_stale', 0));
    await settled(account, 'bk_stale', 0);
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const staleCalendar = `${proxy.url}/${encodeURIComponent(ANN)}/moved-away/`;
    await stack.table.doc.send(
      new UpdateCommand({ TableName: stack.tableName, Key: { pk: `ACCOUNT#${account}`, sk: 'CONNECTION' }, UpdateExpression: 'SET calendarUrl = :u', ExpressionAttributeValues: { ':u': staleCalendar } }),
    );
    // The record still knows the event's URL; make the record forget it too (as after a
    // lost answer), so only the calendar URL says where to look.
    await stack.table.doc.send(
      new UpdateCommand({ TableName: stack.tableName, Key: { pk: `ACCOUNT#${account}`, sk: 'BOOKING#bk_stale' }, UpdateExpression: 'REMOVE appliedState, eventUrl, etag' }),
    );
    proxy.reset();
    await send(bookingEvent('cancelled', account, 'bk_stale', 1));
    await settled(account, 'bk_stale', 1);
    expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual(expect.arrayContaining(['DELETE 404', 'PROPFIND 404', 'DELETE 200']));
    expect(await eventsWithUid(calendarUrl, account, 'bk_stale')).toEqual([]);
    expect((await ctx.api('GET', account)).body.calendar.url).toBe(calendarUrl);
  });
});

describe('nothing lost, refusals visible', () => {
  it('an outage longer than every queue retry: changes wait with the sweeper, then are written once; the DLQ holds only the invalid message', async () => {
    const { account, calendarUrl } = await connected();
    await drain(stack.dlqUrl);
    proxy.setFault(() => ({ status: 503, headers: { 'Retry-After': '1' } }));
    const ids = ['bk_out1', 'bk_out2', 'bk_out3', 'bk_out4'];
    await send(...ids.map((id) => bookingEvent('confirmed', account, id, 0)));
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: account, MessageBody: '{"type":"booking.confirmed"}' }));
    const handedOver = () => ctx.output.published.reduce((n, m) => n + (m.values.HandedToSweeper ?? 0), 0);
    await until('every change handed to the sweeper', async () => handedOver() >= ids.length);
    // Out of queue receives, still down: the sweeper keeps them going, the DLQ never sees them.
    await stack.sweep();
    expect((await ctx.api('GET', account)).body).toMatchObject({ status: 'active', pendingChanges: 4, failedChanges: 0 });

    proxy.setFault(undefined);
    await until('all written after the outage', async () => {
      await stack.sweep();
      const r = await Promise.all(ids.map((id) => record(account, id)));
      return r.every((x) => x?.appliedSeq === 0);
    });
    for (const id of ids) expect(await eventsWithUid(calendarUrl, account, id)).toHaveLength(1);
    expect((await ctx.api('GET', account)).body).toMatchObject({ pendingChanges: 0, lastSync: { outcome: 'ok' } });
    const dead = await until('the invalid message in the DLQ', async () => {
      const m = await drain(stack.dlqUrl);
      return m.length > 0 && m;
    });
    expect(dead.map((m) => m.Body)).toEqual(['{"type":"booking.confirmed"}']);
  });

  it('a change the server refuses for good is recorded, counted and alarmed, and tried again when the booking changes', async () => {
    const { account, calendarUrl } = await connected();
    const path = objectPath(calendarUrl, account, 'bk_refused');
    proxy.setFault((req) => (req.method === 'PUT' && req.path === path ? { status: 400, body: 'bad event' } : undefined));
    await send(bookingEvent('confirmed', account, 'bk_refused', 0));
    const failed = await until('refusal recorded', async () => {
      const r = await record(account, 'bk_refused');
      return r?.failedSeq === 0 && r;
    });
    expect(failed.failure).toBe('event_rejected');
    expect((await ctx.api('GET', account)).body).toMatchObject({ status: 'active', pendingChanges: 0, failedChanges: 1, lastSync: { outcome: 'failed', error: 'event_rejected' } });
    expect(ctx.output.published.some((m) => m.values.EventRejected! > 0)).toBe(true);
    // Not retried by itself: no sweep picks it up.
    proxy.reset();
    await stack.sweep();
    expect(proxy.requests).toEqual([]);
    proxy.setFault(undefined);
    await send(bookingEvent('updated', account, 'bk_refused', 1, { title: 'Fixed' }));
    await settled(account, 'bk_refused', 1);
    expect((await ctx.api('GET', account)).body).toMatchObject({ failedChanges: 0, lastSync: { outcome: 'ok' } });
  });

  it('a 412 again right after re-reading is a conflict of the moment: retried, not refused', async () => {
    const { account, calendarUrl } = await connected();
    const path = objectPath(calendarUrl, account, 'bk_412');
    let conflicts = 0;
    proxy.setFault((req) => (req.method === 'PUT' && req.path === path && conflicts++ < 2 ? { status: 412 } : undefined));
    await send(bookingEvent('confirmed', account, 'bk_412', 0));
    // Retried as this booking's own retry: due after its backoff, re-driven by the sweeper.
    const written = await until('bk_412 written', async () => {
      await stack.sweep();
      const r = await record(account, 'bk_412');
      return r?.appliedSeq === 0 && r;
    });
    expect(written.failedSeq).toBeUndefined();
    expect(conflicts).toBeGreaterThanOrEqual(2);
    expect((await ctx.api('GET', account)).body).toMatchObject({ failedChanges: 0 });
    expect(await eventsWithUid(calendarUrl, account, 'bk_412')).toHaveLength(1);
  });
});


describe('one stuck booking never holds back the others (issue 17)', () => {
  const pendingRecord = async (account: string, bookingId: string) => (await record(account, bookingId))!;
  /** Makes a scheduled retry due now (instead of waiting out its backoff in the test). */
  const dueNow = async (account: string, bookingId: string) => {
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await stack.table.doc.send(
      new UpdateCommand({ TableName: stack.tableName, Key: { pk: `ACCOUNT#${account}`, sk: `BOOKING#${bookingId}` }, UpdateExpression: 'SET dueAt = :now', ExpressionAttributeValues: { ':now': Date.now() } }),
    );
  };

  it('a 500 with Retry-After: 30 for one booking: the account’s next booking is written within seconds, the first after its wait', async () => {
    const { account, calendarUrl } = await connected();
    const stuckPath = objectPath(calendarUrl, account, 'bk_stuck');
    proxy.setFault((req) => (req.method === 'PUT' && req.path === stuckPath ? { status: 500, headers: { 'Retry-After': '30' } } : undefined));
    const sentAt = Date.now();
    await send(bookingEvent('confirmed', account, 'bk_stuck', 0));
    await until('the stuck one tried', async () => proxy.requests.some((r) => r.path === stuckPath && r.status === 500));
    await send(bookingEvent('confirmed', account, 'bk_next', 0));
    await settled(account, 'bk_next', 0);
    expect(Date.now() - sentAt).toBeLessThan(10_000); // not behind the stuck one's 30 s
    expect(await eventsWithUid(calendarUrl, account, 'bk_next')).toHaveLength(1);
    // The stuck one waits on its record, never sooner than Retry-After; its message is gone.
    const stuck = await pendingRecord(account, 'bk_stuck');
    expect(stuck).toMatchObject({ attempts: 1 });
    expect(stuck.dueAt!).toBeGreaterThanOrEqual(sentAt + 30_000);
    expect((await ctx.api('GET', account)).body).toMatchObject({ pendingChanges: 1, failedChanges: 0 });
    await stack.sweep(); // not due yet: not re-driven
    await idlePolls(2);
    expect(proxy.requests.filter((r) => r.path === stuckPath)).toHaveLength(1);
    // Its time comes (made due now here) and the server is fine again: the sweeper re-drives it.
    proxy.setFault(undefined);
    await dueNow(account, 'bk_stuck');
    await stack.sweep();
    await settled(account, 'bk_stuck', 0);
    expect(await eventsWithUid(calendarUrl, account, 'bk_stuck')).toHaveLength(1);
    expect(proxy.peakInFlight.get(stuckPath)).toBe(1);
  });

  it('a Retry-After beyond SQS’s 12-hour limit is honoured: kept on the record, nothing comes back sooner', async () => {
    // One booking refused (500), and another account throttled (503), both for 50 000 s.
    const one = await connected();
    const throttled = await connected(BOB);
    proxy.setFault((req) => (req.method !== 'PUT' ? undefined : { status: req.path.startsWith(new URL(one.calendarUrl).pathname) ? 500 : 503, headers: { 'Retry-After': '50000' } }));
    const handedOver = () => ctx.output.published.reduce((n, m) => n + (m.values.HandedToSweeper ?? 0), 0);
    const handedBefore = handedOver();
    const before = Date.now();
    await send(bookingEvent('confirmed', one.account, 'bk_far', 0), bookingEvent('confirmed', throttled.account, 'bk_far', 0));
    for (const account of [one.account, throttled.account]) {
      const far = await until('the far retry recorded', async () => {
        const r = await record(account, 'bk_far');
        return (r?.attempts ?? 0) >= 1 && r;
      });
      expect(far.dueAt!).toBeGreaterThanOrEqual(before + 50_000_000);
    }
    await until('the throttled one handed to the sweeper', async () => handedOver() > handedBefore);
    await idlePolls(2); // acknowledged: nothing comes back
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
    await stack.sweep(); // not due for 50 000 s
    await idlePolls(2);
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });
});

describe('races of re-drives with reconnects and disconnects (issue 17)', () => {
  /** Sends a booking whose PUT gets a 500: it ends as a retry recorded on its record, due later. */
  async function retryRecorded(account: string, calendarUrl: string, bookingId: string) {
    const path = objectPath(calendarUrl, account, bookingId);
    proxy.setFault((req) => (req.method === 'PUT' && req.path === path ? { status: 500 } : undefined));
    await send(bookingEvent('confirmed', account, bookingId, 0));
    await until('a retry recorded', async () => ((await record(account, bookingId))?.attempts ?? 0) >= 1);
    return path;
  }

  it('a reconnect that reads a change just before it is written never puts it back as pending', async () => {
    const { account, calendarUrl } = await connected();
    await retryRecorded(account, calendarUrl, 'bk_reopen');
    proxy.setFault(undefined);
    // The reconnect has read the unsettled record; before it reopens it, the change is written
    // (a redelivered message of the booking).
    const unhold = beforeWrite(
      (input) => input.Key?.sk === 'BOOKING#bk_reopen' && /SET pendingShard = :shard/.test(input.UpdateExpression ?? ''),
      async () => {
        const body = JSON.stringify(bookingEvent('confirmed', account, 'bk_reopen', 0));
        await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: account, MessageBody: body, MessageDeduplicationId: `again-${Date.now()}` }));
        await settled(account, 'bk_reopen', 0);
      },
    );
    try {
      // (Connect's answer may come before the requeue is done: it is not what is checked here.)
      expect((await ctx.api('POST', account, { appleId: ANN, appSpecificPassword: PASSWORD })).status).toBe(200);
      await idlePolls(2); // whatever the requeue sent is handled
    } finally {
      unhold();
    }
    const after = (await record(account, 'bk_reopen'))!;
    expect(after.appliedSeq).toBe(0);
    expect(after.pendingShard).toBeUndefined(); // not in the sweeper's index
    expect((await ctx.api('GET', account)).body).toMatchObject({ pendingChanges: 0 });
    expect(await eventsWithUid(calendarUrl, account, 'bk_reopen')).toHaveLength(1);
  });

  it('a re-drive still queued across "disconnect + connect another Apple ID" writes nothing there', async () => {
    const { account, calendarUrl } = await connected();
    const retryPath = await retryRecorded(account, calendarUrl, 'bk_queued');
    // The account's group is busy (another booking's PUT is held), so the re-drive queues behind it.
    const blockPath = objectPath(calendarUrl, account, 'bk_block');
    const hold = holdAtProxy((r) => r.method === 'PUT' && r.path === blockPath, { status: 503, headers: { 'Retry-After': '1' } });
    try {
      await send(bookingEvent('confirmed', account, 'bk_block', 0));
      await hold.arrived;
      await until('the retry due', async () => {
        const r = await stack.sweep();
        return r.requeued > 0;
      });
      expect((await ctx.api('DELETE', account)).status).toBe(204);
      const res = await ctx.api('POST', account, { appleId: BOB, appSpecificPassword: PASSWORD });
      expect(res.status).toBe(201);
      proxy.reset();
    } finally {
      hold.release();
    }
    // The held batch ends; the re-drive is handled (its account's group moves on) and writes
    // nothing. (bk_block's own message is a booking of the account: it is written to Bob's.)
    await until('bk_block written for Bob', async () => (await record(account, 'bk_block'))?.appliedSeq === 0);
    await idlePolls(2);
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path === retryPath)).toEqual([]);
    const bobCalendar = (await ctx.api('GET', account)).body.calendar.url as string;
    expect(await eventsWithUid(bobCalendar, account, 'bk_queued', PASSWORD, BOB)).toEqual([]);
    expect(await record(account, 'bk_queued')).toBeUndefined();
  });

  it('a write that raced a disconnect leaves no old URL behind: the next change is written to the new Apple ID’s calendar', async () => {
    const { account } = await connected();
    // The advance runs after the disconnect (the worker had read the connection before it):
    // the event is written with the old connection and recorded there.
    const unhold = beforeWrite(isAdvanceOf('bk_late'), async () => expect((await ctx.api('DELETE', account)).status).toBe(204));
    try {
      await send(bookingEvent('confirmed', account, 'bk_late', 0));
      await until('written with the old connection', async () => (await record(account, 'bk_late'))?.appliedSeq === 0);
    } finally {
      unhold();
    }
    const res = await ctx.api('POST', account, { appleId: BOB, appSpecificPassword: PASSWORD });
    expect(res.status).toBe(201);
    await send(bookingEvent('updated', account, 'bk_late', 1, { title: 'For Bob' }));
    const written = await until('bk_late@1 written or refused', async () => {
      const r = await record(account, 'bk_late');
      return (r?.appliedSeq === 1 || r?.failedSeq === 1) && r;
    });
    expect(written).toMatchObject({ appliedSeq: 1 });
    expect(written.failure).toBeUndefined();
    const events = await eventsWithUid(res.body.calendar.url, account, 'bk_late', PASSWORD, BOB);
    expect(events.map((e) => e.get('SUMMARY')!.value)).toEqual(['For Bob']);
  });
});

describe('an invocation that runs out of time (issue 17)', () => {
  let small: Awaited<ReturnType<typeof testStack>>;
  beforeAll(async () => {
    // A 3 s budget per batch (the Lambda timeout, locally): the calendar work stops 1 s before.
    small = await testStack(proxy.url, { poll: true, consumers: 2, sweep: false, syncBudgetSeconds: 3, sweepIntervalSeconds: 1 });
  });
  afterAll(async () => {
    await small?.stack.stop();
  });

  it('what is not written in time is recorded as due now, the message acknowledged; no second writer takes the account', async () => {
    const account = 'acct-deadline-1';
    expect((await small.api('POST', account, { appleId: ANN, appSpecificPassword: PASSWORD })).status).toBe(201);
    const calendarUrl = (await small.api('GET', account)).body.calendar.url as string;
    const slowPath = objectPath(calendarUrl, account, 'bk_slow');
    // The PUT hangs far beyond the budget (the per-request timeout is 10 s).
    const hold = holdAtProxy((r) => r.method === 'PUT' && r.path === slowPath, { status: 500 });
    const smallBookings = new BookingStore(small.stack.table);
    try {
      const batches: Array<{ received: number; failed: number; at: number }> = [];
      for (const c of small.stack.consumers) c.events.on('batch', (b) => batches.push({ ...b, at: Date.now() }));
      const sentAt = Date.now();
      await small.stack.sqs.send(new SendMessageCommand({ QueueUrl: small.stack.queueUrl, MessageGroupId: account, MessageBody: JSON.stringify(bookingEvent('confirmed', account, 'bk_slow', 0)) }));
      await hold.arrived;
      await small.stack.sqs.send(new SendMessageCommand({ QueueUrl: small.stack.queueUrl, MessageGroupId: account, MessageBody: JSON.stringify(bookingEvent('confirmed', account, 'bk_after', 0)) }));
      const after = await until('the next booking written', async () => {
        const r = await smallBookings.get(account, 'bk_after');
        return r?.appliedSeq === 0 && r;
      });
      expect(after).toBeTruthy();
      // The first batch ended inside its budget, acknowledged (no failure left to the visibility timeout).
      expect(batches[0]).toMatchObject({ received: 1, failed: 0 });
      expect(batches[0]!.at - sentAt).toBeLessThan(3_000);
      const slow = (await smallBookings.get(account, 'bk_slow'))!;
      expect(slow.appliedSeq).toBeUndefined();
      expect(slow.attempts ?? 0).toBe(0); // out of time is no failure of the booking
      expect(slow.dueAt!).toBeLessThanOrEqual(Date.now()); // due at the next sweep
      // Only one request for it ever reached the server: no second consumer took the account.
      expect(proxy.requests.filter((r) => r.path === slowPath)).toHaveLength(1);
      expect(small.output.lines().some((l) => l.error === 'out_of_time')).toBe(true);
    } finally {
      hold.release();
    }
    proxy.setFault(undefined);
    await until('the slow one written after a sweep', async () => {
      await small.stack.sweep();
      return (await smallBookings.get(account, 'bk_slow'))?.appliedSeq === 0;
    });
    expect(await eventsWithUid(calendarUrl, account, 'bk_slow')).toHaveLength(1);
  });

  it('the local queue never hands out a batch before its handler’s budget is over', async () => {
    await expect(testStack(proxy.url, { syncBudgetSeconds: 60, visibilityTimeout: 30 })).rejects.toThrow(/visibilityTimeout/);
  });
});
