import { on } from 'node:events';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testStack, type Stack } from '../harness/stack.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { bookingEvent, sqsEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';
import { parseIcs } from '../harness/ics.js';
import { tableClient } from '../harness/dynamo.js';
import { recordingLog } from '../harness/log.js';
import { parseBookingEvent, type BookingEvent } from '../../shared/booking/booking-event.js';
import { CalendarObjects } from '../../shared/caldav/objects.js';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';

/** Every test server listens on 127.0.0.1: the trusted host here. */
const LOCAL = ['127.0.0.1'];

function parseBody(body: unknown): BookingEvent {
  const parsed = parseBookingEvent(JSON.stringify(body));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.event;
}

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const NEW_PASSWORD = 'qrst-uvwx-yzab-cdef';
const USER = 'alice@example.com';

let radicale: RadicaleServer;
let proxy: Proxy;
let stack: Stack;
let api: Awaited<ReturnType<typeof testStack>>['api'];
let sync: Awaited<ReturnType<typeof testStack>>['sync'];
let calendarUrl: string;

const calendar = async (password = PASSWORD) => readCalendar(`${radicale.url}${new URL(calendarUrl).pathname}`, { username: USER, password });
const eventsIn = async (password?: string) => [...(await calendar(password)).values()].map((t) => parseIcs(t).events[0]!);

beforeAll(async () => {
  radicale = await startRadicale({ users: { [USER]: PASSWORD } });
  proxy = await startProxy({ target: radicale.url });
  ({ stack, api, sync } = await testStack(proxy.url));
  const res = await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: PASSWORD });
  expect(res.status).toBe(201);
  calendarUrl = res.body.calendar.url;
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await radicale?.stop();
});

/** Receives (and deletes) everything on the booking-events queue. */
async function drainQueue(queueUrl = stack.queueUrl) {
  const out = [];
  for (;;) {
    const res = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    if (!res.Messages?.length) return out;
    for (const m of res.Messages) await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    out.push(...res.Messages);
  }
}

/**
 * The account's last good write is long past: its credentials are not known to work right now,
 * so the first booking of a batch goes alone (only one request learns of a revoked password).
 */
const notWrittenLately = () => new ConnectionStore(stack.table).recordSync('acct-1', { at: new Date(Date.now() - 10 * 60_000).toISOString(), outcome: 'ok' });

beforeEach(() => {
  proxy.reset();
  proxy.setFault(undefined);
});

describe('booking sync on Radicale', () => {
  it('confirm writes one event with every field right, in one request', async () => {
    const res = await sync([
      bookingEvent('confirmed', 'acct-1', 'bk_fields', 3, {
        title: 'Consultation with Ann',
        description: 'Bring notes',
        location: 'https://meet.example.com/x',
        start: '2026-12-01T15:00:00+01:00',
        end: '2026-12-01T15:30:00+01:00',
        attendees: [
          { name: 'Ann', email: 'ann@example.com' },
          { name: 'Bob', email: 'bob@example.com' },
        ],
      }),
    ]);
    expect(res.batchItemFailures).toEqual([]);
    expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 201']);
    const ev = (await eventsIn()).find((e) => e.get('SUMMARY')?.value === 'Consultation with Ann')!;
    expect(ev).toBeDefined();
    expect(ev.get('DTSTART')!.value).toBe('20261201T140000Z');
    expect(ev.get('DTEND')!.value).toBe('20261201T143000Z');
    expect(ev.get('DESCRIPTION')!.value).toBe('Bring notes');
    expect(ev.get('LOCATION')!.value).toBe('https://meet.example.com/x');
    expect(ev.get('SEQUENCE')!.value).toBe('3');
    expect(ev.get('STATUS')!.value).toBe('CONFIRMED');
    expect(ev.get('ORGANIZER')!.value.toLowerCase()).toBe('mailto:host@example.com');
    expect(ev.get('ORGANIZER')!.params.CN).toBe('Host Name');
    const attendees = ev.all('ATTENDEE');
    expect(attendees.map((a) => a.value.toLowerCase())).toEqual(['mailto:ann@example.com', 'mailto:bob@example.com']);
    expect(attendees.map((a) => a.params.CN)).toEqual(['Ann', 'Bob']);
    expect(attendees.every((a) => a.params['SCHEDULE-AGENT'] === 'CLIENT')).toBe(true);
    const details = await api('GET', 'acct-1');
    expect(details.body.lastSync).toMatchObject({ outcome: 'ok' });
  });

  it('update changes the same resource in place; redelivery ×3 keeps one event', async () => {
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_upd', 0)]);
    const before = [...(await calendar()).entries()].find(([, t]) => t.includes('bk_upd v0'))!;
    proxy.reset();
    await sync([bookingEvent('updated', 'acct-1', 'bk_upd', 1, { title: 'Moved', start: '2026-12-02T09:00:00Z', end: '2026-12-02T10:00:00Z' })]);
    expect(proxy.requests.map((r) => r.method)).toEqual(['PUT']);
    expect(proxy.requests[0]!.headers['if-match']).toBeTruthy();
    const after = await calendar();
    expect(after.has(before[0])).toBe(true);
    const ev = parseIcs(after.get(before[0])!).events[0]!;
    expect(ev.get('SUMMARY')!.value).toBe('Moved');
    expect(ev.get('DTSTART')!.value).toBe('20261202T090000Z');
    expect(ev.get('SEQUENCE')!.value).toBe('1');

    proxy.reset();
    const confirm = bookingEvent('confirmed', 'acct-1', 'bk_upd', 0);
    for (let i = 0; i < 3; i++) expect((await sync([confirm])).batchItemFailures).toEqual([]);
    expect(proxy.requests).toEqual([]); // stale: no request at all
    const all = await eventsIn();
    expect(all.filter((e) => e.get('UID')!.value === ev.get('UID')!.value)).toHaveLength(1);
    expect(parseIcs((await calendar()).get(before[0])!).events[0]!.get('SUMMARY')!.value).toBe('Moved');
  });

  it('CalDAV connections are reused across writes (keep-alive)', async () => {
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_ka0', 0)]);
    proxy.reset();
    for (let i = 1; i <= 5; i++) await sync([bookingEvent('confirmed', 'acct-1', `bk_ka${i}`, 0)]);
    expect(proxy.requests.map((r) => r.method)).toEqual(Array(5).fill('PUT'));
    expect(proxy.connections).toBeLessThanOrEqual(1);
  });

  it('cancel deletes the event in one request', async () => {
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_cancel', 0)]);
    expect([...(await calendar()).values()].some((t) => t.includes('bk_cancel v0'))).toBe(true);
    proxy.reset();
    expect((await sync([bookingEvent('cancelled', 'acct-1', 'bk_cancel', 1)])).batchItemFailures).toEqual([]);
    expect(proxy.requests.map((r) => r.method)).toEqual(['DELETE']);
    expect([...(await calendar()).values()].some((t) => t.includes('bk_cancel'))).toBe(false);
  });

  it('a cancellation that overtakes its confirmation leaves no event, ever', async () => {
    await sync([bookingEvent('cancelled', 'acct-1', 'bk_race', 2)]);
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_race', 1)]);
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_race', 1), bookingEvent('updated', 'acct-1', 'bk_race', 2)]);
    expect([...(await calendar()).values()].some((t) => t.includes('bk_race'))).toBe(false);
  });

  it('several changes of one booking in one batch end at the highest sequence', async () => {
    proxy.reset();
    await sync([
      bookingEvent('updated', 'acct-1', 'bk_batch', 2, { title: 'third' }),
      bookingEvent('confirmed', 'acct-1', 'bk_batch', 0, { title: 'first' }),
      bookingEvent('updated', 'acct-1', 'bk_batch', 1, { title: 'second' }),
    ]);
    expect(proxy.requests.map((r) => r.method)).toEqual(['PUT']);
    const titles = (await eventsIn()).map((e) => e.get('SUMMARY')!.value);
    expect(titles.filter((t) => ['first', 'second', 'third'].includes(t))).toEqual(['third']);
  });

  it('new bookings are written first and recorded once: one read and one write of the table for the batch; a message that came back is recorded before its calendar write', async () => {
    // Every table call of the handler, by command (a BatchWriteItem as its command and booking ids).
    const writes: string[] = [];
    const name = 'count-writes';
    stack.table.doc.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { sk?: string }; Item?: { sk?: string }; RequestItems?: Record<string, Array<{ PutRequest?: { Item: { sk: string } } }>> };
        const command = String(context.commandName);
        if (command === 'BatchWriteItemCommand') writes.push(`${command} ${Object.values(input.RequestItems ?? {}).flat().map((r) => r.PutRequest?.Item.sk).join(' ')}`);
        else if (command !== 'GetItemCommand' && command !== 'BatchGetItemCommand' && (input.Key?.sk ?? input.Item?.sk)?.startsWith('BOOKING#bk_once')) writes.push(command);
        return next(args);
      },
      { step: 'initialize', name },
    );
    const store = new BookingStore(stack.table);
    const atPut: Array<Record<string, unknown> | undefined> = [];
    const file = (id: string) => bookingObjectId('acct-1', id).filename;
    proxy.setFault(async (req) => {
      for (const id of ['bk_once1', 'bk_once2']) if (req.method === 'PUT' && req.path.endsWith(file(id))) atPut.push((await store.get('acct-1', id)) as never);
      return undefined;
    });
    try {
      expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_once1', 0), bookingEvent('confirmed', 'acct-1', 'bk_once3', 0)])).batchItemFailures).toEqual([]);
      // The records, with what was written, together once the batch's writes are done.
      expect(writes.map((w) => w.split(' ').sort().join(' '))).toEqual(['BOOKING#bk_once1 BOOKING#bk_once3 BatchWriteItemCommand']);
      expect(atPut).toEqual([undefined]);
      expect(await store.get('acct-1', 'bk_once1')).toMatchObject({ seq: 0, appliedSeq: 0, appliedState: 'event', etag: expect.any(String) });
      expect((await store.get('acct-1', 'bk_once1'))?.pendingShard).toBeUndefined();
      // Delivered before (an invocation holding it may have died): recorded first, then written.
      writes.length = 0;
      expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_once2', 0)], 2)).batchItemFailures).toEqual([]);
      expect(atPut[1]).toMatchObject({ seq: 0, pendingShard: expect.any(String) });
      expect(writes).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
      expect(await store.get('acct-1', 'bk_once2')).toMatchObject({ appliedSeq: 0 });
    } finally {
      stack.table.doc.middlewareStack.remove(name);
    }
  });

  it('a change recorded meanwhile by another writer is not lost: written after the first, from its record', async () => {
    // (A booking's record is created only by its account's one writer; an existing one is also
    // changed by a reconnect's requeue: the write that records an update is conditional.)
    const store = new BookingStore(stack.table);
    const conn = await new ConnectionStore(stack.table).get('acct-1');
    expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_meanwhile', 0)])).batchItemFailures).toEqual([]);
    let once = false;
    proxy.setFault(async (req) => {
      // While v1 is being written, v2 is recorded.
      if (req.method === 'PUT' && req.path.endsWith(bookingObjectId('acct-1', 'bk_meanwhile').filename) && !once) {
        once = true;
        await store.advance(bookingEvent('updated', 'acct-1', 'bk_meanwhile', 2, { title: 'Newer' }) as BookingEvent, conn!.generation);
      }
      return undefined;
    });
    expect((await sync([bookingEvent('updated', 'acct-1', 'bk_meanwhile', 1, { title: 'New' })])).batchItemFailures).toEqual([]);
    expect(await store.get('acct-1', 'bk_meanwhile')).toMatchObject({ seq: 2, appliedSeq: 2 });
    const events = (await eventsIn()).filter((e) => e.get('UID')!.value === bookingObjectId('acct-1', 'bk_meanwhile').uid);
    expect(events.map((e) => e.get('SUMMARY')!.value)).toEqual(['Newer']);
  });

  it('new records the table refuses to take: their changes recorded as due, written again without a duplicate', async () => {
    const name = 'refuse-batch-writes';
    stack.table.doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (String(context.commandName) === 'BatchWriteItemCommand') throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
        return next(args);
      },
      { step: 'initialize', name },
    );
    const batch = [bookingEvent('confirmed', 'acct-1', 'bk_refused1', 0), bookingEvent('confirmed', 'acct-1', 'bk_refused2', 0)];
    try {
      expect((await sync(batch)).batchItemFailures).toEqual([]); // recorded as due: acknowledged
    } finally {
      stack.table.doc.middlewareStack.remove(name);
    }
    const store = new BookingStore(stack.table);
    for (const e of batch) expect(await store.get('acct-1', e.booking.id)).toMatchObject({ seq: 0, attempts: 1, pendingShard: expect.any(String) });
    expect((await sync(batch, 2)).batchItemFailures).toEqual([]);
    for (const e of batch) expect(await store.get('acct-1', e.booking.id)).toMatchObject({ appliedSeq: 0 });
    const texts = [...(await calendar()).values()];
    for (const e of batch) expect(texts.filter((t) => t.includes(`${e.booking.id} v0`))).toHaveLength(1);
  });

  it('credentials that wrote just now: a batch’s bookings go out at once; a throttle is learnt by those in flight, no more', async () => {
    expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_warm', 0)])).batchItemFailures).toEqual([]); // a good write just now
    let release!: () => void;
    const second = new Promise<void>((r) => (release = r));
    let puts = 0;
    let together = false;
    proxy.setFault(async (req) => {
      if (req.method !== 'PUT') return undefined;
      if (++puts === 1) together = await Promise.race([second.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
      else release();
      return undefined;
    });
    expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_warm1', 0), bookingEvent('confirmed', 'acct-1', 'bk_warm2', 0)])).batchItemFailures).toEqual([]);
    expect(together).toBe(true); // the second PUT was sent while the first was still in flight

    proxy.reset();
    proxy.setFault((req) => (req.method === 'PUT' ? { status: 503, headers: { 'Retry-After': '120' } } : undefined));
    const batch = Array.from({ length: 7 }, (_, i) => bookingEvent('confirmed', 'acct-1', `bk_warm_busy${i}`, 0));
    expect((await sync(batch)).batchItemFailures).toHaveLength(7); // the account paused: all come back
    expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual(Array(5).fill('PUT 503')); // the five in flight; the rest never sent
    proxy.setFault(undefined);
    expect((await sync(batch)).batchItemFailures).toEqual([]);
    const texts = [...(await calendar()).values()];
    for (let i = 0; i < 7; i++) expect(texts.filter((t) => t.includes(`bk_warm_busy${i} v0`))).toHaveLength(1);
  });

  it('429 and 503 pause the account (one request learns it), none lost, all written once after', async () => {
    await notWrittenLately();
    let n = 0;
    proxy.setFault((req) => (req.method === 'PUT' && n++ < 2 ? { status: n === 1 ? 429 : 503, headers: { 'Retry-After': '120' } } : undefined));
    const first = bookingEvent('confirmed', 'acct-1', 'bk_busy1', 0);
    const second = bookingEvent('confirmed', 'acct-1', 'bk_busy2', 0);
    const third = bookingEvent('confirmed', 'acct-1', 'bk_busy3', 0);
    for (const status of [429, 503]) {
      proxy.reset();
      const res = await sync([first, second, third]);
      expect(res.batchItemFailures).toHaveLength(3); // all retried ...
      expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual([`PUT ${status}`]); // ... after one request
    }
    const details = await api('GET', 'acct-1');
    expect(details.body.status).toBe('active');
    expect(details.body.pendingChanges).toBeGreaterThanOrEqual(3);
    // Redelivery of the failed ones succeeds.
    const again = await sync([first, second, third]);
    expect(again.batchItemFailures).toEqual([]);
    const texts = [...(await calendar()).values()];
    for (const id of ['bk_busy1', 'bk_busy2', 'bk_busy3']) expect(texts.filter((t) => t.includes(`${id} v0`))).toHaveLength(1);
  });

  it('server stopped mid-batch, then started: every event present once', async () => {
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_down0', 0)]);
    await radicale.kill();
    const batch = Array.from({ length: 5 }, (_, i) => bookingEvent('confirmed', 'acct-1', `bk_down${i}`, i === 0 ? 1 : 0));
    const res = await sync(batch);
    // Each booking failed on its own: recorded as due after its backoff (the sweeper re-drives
    // it), the messages acknowledged so they hold nothing back.
    expect(res.batchItemFailures).toEqual([]);
    const store = new BookingStore(stack.table);
    for (const e of batch) expect(await store.get('acct-1', e.booking.id)).toMatchObject({ attempts: 1, dueAt: expect.any(Number) });
    await radicale.restart();
    expect((await sync(batch)).batchItemFailures).toEqual([]);
    const texts = [...(await calendar()).values()];
    for (let i = 0; i < 5; i++) expect(texts.filter((t) => t.includes(`bk_down${i} v`))).toHaveLength(1);
    expect(texts.some((t) => t.includes('bk_down0 v1'))).toBe(true);
  });

  it('a write whose answer was lost is retried without a duplicate (412 → re-read → update)', async () => {
    let dropped = false;
    proxy.setFault((req) => (req.method === 'PUT' && !dropped ? ((dropped = true), { dropResponse: true }) : undefined));
    const msg = bookingEvent('confirmed', 'acct-1', 'bk_lost', 0);
    expect((await sync([msg])).batchItemFailures).toEqual([]); // recorded as a retry of this booking
    expect(await new BookingStore(stack.table).get('acct-1', 'bk_lost')).toMatchObject({ attempts: 1 });
    proxy.reset();
    expect((await sync([msg])).batchItemFailures).toEqual([]);
    expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 412', 'GET 200', 'PUT 201']);
    expect([...(await calendar()).values()].filter((t) => t.includes('bk_lost v0'))).toHaveLength(1);
  });

  it('an account with no connection is acknowledged and skipped', async () => {
    proxy.reset();
    const res = await sync([bookingEvent('confirmed', 'acct-nobody', 'bk_x', 0)]);
    expect(res.batchItemFailures).toEqual([]);
    expect(proxy.requests).toEqual([]);
  });

  it('revoked password: status error, change held; reconnect writes it; nothing lost', async () => {
    await notWrittenLately();
    await radicale.setPassword(USER, NEW_PASSWORD);
    proxy.reset();
    const res = await sync([bookingEvent('confirmed', 'acct-1', 'bk_held1', 0), bookingEvent('confirmed', 'acct-1', 'bk_held2', 0)]);
    expect(res.batchItemFailures).toEqual([]); // acknowledged: no hot retry loop
    expect(proxy.requests.filter((r) => r.status === 401).length).toBe(1); // stopped after the first rejection
    const details = await api('GET', 'acct-1');
    expect(details.body.status).toBe('error');
    expect(details.body.lastSync).toMatchObject({ outcome: 'failed', error: 'credentials_rejected' });

    // While in error: held without touching the server.
    proxy.reset();
    expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_held3', 0)])).batchItemFailures).toEqual([]);
    expect(proxy.requests).toEqual([]);

    expect((await api('GET', 'acct-1')).body.pendingChanges).toBe(3);
    proxy.reset();
    const reconnect = await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: NEW_PASSWORD });
    expect(reconnect.status).toBe(200);
    expect(reconnect.body).toMatchObject({ status: 'active', pendingChanges: 3 });
    // Connect writes nothing itself: the held changes go to the account's one writer, the queue.
    expect(proxy.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE')).toEqual([]);
    const requeued = await drainQueue();
    expect(requeued.map((m) => [m.Attributes?.MessageGroupId, m.MessageAttributes?.source?.StringValue])).toEqual([['acct-1', 'reconnect']]);
    const redrive = JSON.parse(requeued[0]!.Body!);
    expect({ ...redrive, bookingIds: [...redrive.bookingIds].sort() }).toEqual({ type: 'connector.redrive', userId: 'acct-1', generation: expect.any(String), bookingIds: ['bk_held1', 'bk_held2', 'bk_held3'] });
    expect((await sync(requeued.map((m) => JSON.parse(m.Body!)))).batchItemFailures).toEqual([]);
    expect((await api('GET', 'acct-1')).body).toMatchObject({ pendingChanges: 0, lastSync: { outcome: 'ok' } });
    const texts = [...(await calendar(NEW_PASSWORD)).values()];
    for (const id of ['bk_held1', 'bk_held2', 'bk_held3']) expect(texts.filter((t) => t.includes(`${id} v0`))).toHaveLength(1);
    await radicale.setPassword(USER, PASSWORD);
    expect((await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: PASSWORD })).status).toBe(200);
  });

  it('reconnect re-drives each held booking once, and the worker writes its latest state', async () => {
    await radicale.setPassword(USER, NEW_PASSWORD);
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_requeue1', 0), bookingEvent('confirmed', 'acct-1', 'bk_requeue2', 3, { title: 'Second take v3' })]);
    await sync([bookingEvent('cancelled', 'acct-1', 'bk_requeue1', 1)]); // the held change of bk_requeue1 is now a cancellation
    expect((await api('GET', 'acct-1')).body.status).toBe('error');
    expect(await drainQueue()).toEqual([]);

    const reconnect = await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: NEW_PASSWORD });
    expect(reconnect.status).toBe(200);
    const requeued = await drainQueue();
    // One re-drive in the account's group naming both bookings; the records hold what to write
    // (bk_requeue1's cancellation, bk_requeue2 at sequence 3).
    expect(requeued.map((m) => JSON.parse(m.Body!))).toEqual([
      { type: 'connector.redrive', userId: 'acct-1', generation: expect.any(String), bookingIds: expect.arrayContaining(['bk_requeue1', 'bk_requeue2']) },
    ]);
    expect(JSON.parse(requeued[0]!.Body!).bookingIds).toHaveLength(2);
    // The worker writes each record's latest state.
    expect((await sync(requeued.map((m) => JSON.parse(m.Body!)))).batchItemFailures).toEqual([]);
    const texts = [...(await calendar(NEW_PASSWORD)).values()];
    expect(texts.filter((t) => t.includes('Second take v3'))).toHaveLength(1);
    expect(texts.some((t) => t.includes('bk_requeue1'))).toBe(false);
    // Delivered again (SQS is at-least-once): nothing more to do, no request.
    proxy.reset();
    expect((await sync(requeued.map((m) => JSON.parse(m.Body!)))).batchItemFailures).toEqual([]);
    expect(proxy.requests).toEqual([]);

    await radicale.setPassword(USER, PASSWORD);
    expect((await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: PASSWORD })).status).toBe(200);
  });

  it('disconnect drops held changes with the credentials', async () => {
    await radicale.setPassword(USER, NEW_PASSWORD);
    await sync([bookingEvent('confirmed', 'acct-1', 'bk_dropped', 0)]);
    expect((await api('GET', 'acct-1')).body.status).toBe('error');
    expect((await api('DELETE', 'acct-1')).status).toBe(204);
    const reconnect = await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: NEW_PASSWORD });
    expect(reconnect.status).toBe(201);
    expect([...(await calendar(NEW_PASSWORD)).values()].some((t) => t.includes('bk_dropped'))).toBe(false);
    await radicale.setPassword(USER, PASSWORD);
    expect((await api('POST', 'acct-1', { appleId: USER, appSpecificPassword: PASSWORD })).status).toBe(200);
  });

  it('a stale calendar URL is re-discovered once, then written', async () => {
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await stack.table.doc.send(
      new UpdateCommand({ TableName: stack.tableName, Key: { pk: 'ACCOUNT#acct-1', sk: 'CONNECTION' }, UpdateExpression: 'SET calendarUrl = :u', ExpressionAttributeValues: { ':u': `${proxy.url}/${encodeURIComponent(USER)}/moved-away/` } }),
    );
    proxy.reset();
    expect((await sync([bookingEvent('confirmed', 'acct-1', 'bk_moved', 0)])).batchItemFailures).toEqual([]);
    expect(proxy.requests.filter((r) => r.method === 'PUT').length).toBe(2);
    expect([...(await calendar()).values()].some((t) => t.includes('bk_moved v0'))).toBe(true);
    expect((await api('GET', 'acct-1')).body.calendar.url).toBe(calendarUrl);
  });
});

describe('through the queue', () => {
  it("Retry-After is honoured through the message's visibility, then the change is written", async () => {
    const poller = (await import('../../local/sqs.js')).startPoller({ client: stack.sqs, queueUrl: stack.queueUrl, handler: stack.syncHandler, waitSeconds: 1 });
    try {
      let refused = 0;
      proxy.setFault((req) => (req.method === 'PUT' && refused++ === 0 ? { status: 503, headers: { 'Retry-After': '1' } } : undefined));
      const batches = on(poller.events, 'batch');
      const sentAt = Date.now();
      await stack.sqs.send(
        new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: 'acct-1', MessageBody: JSON.stringify(bookingEvent('confirmed', 'acct-1', 'bk_later', 0)) }),
      );
      const seen: Array<{ failed: number; at: number }> = [];
      for await (const [batch] of batches) {
        seen.push({ failed: batch.failed, at: Date.now() - sentAt });
        if (batch.failed === 0) break;
      }
      expect(seen.map((b) => b.failed)).toEqual([1, 0]);
      // Redelivered after the backoff (never sooner than Retry-After: 1 s), not after the queue's visibility timeout (6 × the 60 s budget).
      expect(seen[1]!.at).toBeGreaterThanOrEqual(900);
      expect(seen[1]!.at).toBeLessThan(15_000);
      expect([...(await calendar()).values()].filter((t) => t.includes('bk_later v0'))).toHaveLength(1);
    } finally {
      await poller.stop();
    }
  });

  it('poison messages go to the DLQ; the rest of the batch succeeds', async () => {
    const poller = (await import('../../local/sqs.js')).startPoller({ client: stack.sqs, queueUrl: stack.queueUrl, handler: stack.syncHandler, waitSeconds: 0 });
    try {
      const bodies = [
        'not json',
        JSON.stringify({ type: 'booking.confirmed', userId: 'acct-1' }),
        JSON.stringify(bookingEvent('confirmed', 'acct-1', 'bk_q1', 0, { start: '2026-12-01T15:00:00Z', end: '2026-12-01T14:00:00Z' })),
        JSON.stringify(bookingEvent('confirmed', 'acct-1', 'bk_q2', 0)),
      ];
      const batches = on(poller.events, 'batch');
      for (const MessageBody of bodies) await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: 'acct-1', MessageBody }));
      let handled = 0;
      for await (const [batch] of batches) {
        expect(batch.failed).toBe(0);
        if ((handled += batch.received) >= bodies.length) break;
      }
      expect([...(await calendar()).values()].filter((t) => t.includes('bk_q2 v0'))).toHaveLength(1);
      const dead = { Messages: await drainQueue(stack.dlqUrl) };
      expect(dead.Messages.map((m) => m.Body).sort()).toEqual(bodies.slice(0, 3).sort());
      expect(dead.Messages.every((m) => m.MessageAttributes?.rejectedReason?.StringValue)).toBe(true);
      expect(dead.Messages.find((m) => m.Body === bodies[2])?.MessageAttributes?.rejectedReason?.StringValue).toMatch(/end/);
    } finally {
      await poller.stop();
    }
  });
});
