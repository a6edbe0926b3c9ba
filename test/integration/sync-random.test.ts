import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BookingStore, isPending } from '../../shared/store/bookings.js';
import { startLocalStack } from '../../local/stack.js';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { bookingEvent, sqsEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';
import { parseIcs } from '../harness/ics.js';
import { prng } from '../harness/random.js';

/**
 * A seeded randomized test: hundreds of bookings over three accounts, random
 * confirm/update/cancel streams with duplicates, shuffled delivery and injected faults
 * (429, 503, 500 of one object, dropped connections, answers lost after the write; per-booking
 * retries re-driven by the sweeper). The calendars must end up equal to the model: the
 * highest sequence of every booking, none lost, none duplicated, none stale.
 * Reproduce a run with SYNC_SEED=<seed>.
 */
const SEED = Number(process.env.SYNC_SEED ?? 20261125);
const BOOKINGS_PER_ACCOUNT = 80;
const ACCOUNTS = ['acct-r1', 'acct-r2', 'acct-r3'];
const password = (i: number) => `pass-word-abcd-efg${'hij'[i]}`.replace(/[^a-z]/g, '').slice(0, 16).match(/.{4}/g)!.join('-');

let radicale: RadicaleServer;
let proxy: Proxy;
let stack: Awaited<ReturnType<typeof startLocalStack>>;
const calendars = new Map<string, string>();
const email = (i: number) => `user${i}@example.com`;

beforeAll(async () => {
  radicale = await startRadicale({ users: Object.fromEntries(ACCOUNTS.map((_, i) => [email(i), password(i)])) });
  proxy = await startProxy({ target: radicale.url });
  // Retries in seconds (per-booking retries wait out their backoff on the record).
  stack = await startLocalStack({ port: 0, persist: false, poll: false, dataDir: mkdtempSync(join(tmpdir(), 'rand-')), caldavServerUrl: proxy.url, retryBaseSeconds: 1, random: () => 0, logLevel: 'SILENT' });
  for (const [i, account] of ACCOUNTS.entries()) {
    const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack.token(account)}` },
      body: JSON.stringify({ appleId: email(i), appSpecificPassword: password(i) }),
    });
    expect(res.status).toBe(201);
    calendars.set(account, ((await res.json()) as { calendar: { url: string } }).calendar.url);
  }
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await radicale?.stop();
});

it(`randomized streams with duplicates, shuffling and faults converge to the model (seed ${SEED})`, { timeout: 180_000 }, async () => {
  const rand = prng(SEED);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  type Msg = ReturnType<typeof bookingEvent>;
  const messages: Msg[] = [];
  const model = new Map<string, { account: string; id: string; final: Msg }>();

  for (const account of ACCOUNTS) {
    for (let b = 0; b < BOOKINGS_PER_ACCOUNT; b++) {
      const id = `bk_${account}_${b}`;
      const stream: Msg[] = [];
      let seq = Math.floor(rand() * 3);
      const changes = 1 + Math.floor(rand() * 4);
      for (let c = 0; c < changes; c++) {
        const kind = c === 0 ? 'confirmed' : rand() < 0.25 ? 'cancelled' : rand() < 0.2 ? 'confirmed' : 'updated';
        const day = 1 + Math.floor(rand() * 28);
        const hour = 8 + Math.floor(rand() * 9);
        const start = `2026-12-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00+01:00`;
        const end = `2026-12-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:45:00+01:00`;
        stream.push(bookingEvent(kind, account, id, seq, { title: `${id} seq ${seq}`, start, end }));
        seq += 1 + Math.floor(rand() * 2);
      }
      model.set(`${account}/${id}`, { account, id, final: stream[stream.length - 1]! });
      for (const m of stream) {
        messages.push(m);
        while (rand() < 0.3) messages.push(m); // at-least-once: duplicates
      }
    }
  }
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
  }

  let faults = 0;
  proxy.setFault(() => {
    const r = rand();
    if (r < 0.05) return faults++, { status: 503, headers: { 'Retry-After': '1' } };
    if (r < 0.08) return faults++, { status: 429 };
    if (r < 0.1) return faults++, { destroy: true };
    if (r < 0.13) return faults++, { dropResponse: true }; // written, but the answer is lost
    if (r < 0.16) return faults++, { status: 500 }; // this object only
    return undefined;
  });

  // Deliver in SQS-sized batches; failures come back later, at a random place in the queue.
  const queue = [...messages];
  let deliveries = 0;
  let redeliveries = 0;
  while (queue.length) {
    const batch = queue.splice(0, 10);
    const event = sqsEvent(batch);
    deliveries++;
    const res = (await stack.syncHandler(event)) as { batchItemFailures: Array<{ itemIdentifier: string }> };
    const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
    event.Records.forEach((r, i) => {
      if (!failed.has(r.messageId)) return;
      redeliveries++;
      queue.splice(Math.floor(rand() * (queue.length + 1)), 0, batch[i]!);
    });
    expect(deliveries).toBeLessThan(messages.length * 3);
  }
  proxy.setFault(undefined);
  // A booking that failed on its own was recorded as due after its backoff and its message
  // acknowledged: the sweeper re-drives it (through the stack's queue) once its time has come.
  const store = new BookingStore(stack.table);
  const unwritten = async () => (await Promise.all(ACCOUNTS.map((a) => store.unsettled(a)))).flat().filter(isPending).length;
  let scheduled = 0;
  for (let left = await unwritten(); left > 0; left = await unwritten()) {
    scheduled = Math.max(scheduled, left);
    await stack.sweep();
    for (;;) {
      const out = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!out.Messages?.length) break;
      await stack.syncHandler(sqsEvent(out.Messages.map((m) => m.Body!)));
      for (const m of out.Messages) await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: stack.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
    await new Promise((r) => setTimeout(r, 200)); // the next backoff's end
  }

  let expectedEvents = 0;
  for (const [i, account] of ACCOUNTS.entries()) {
    const objects = await readCalendar(`${radicale.url}${new URL(calendars.get(account)!).pathname}`, { username: email(i), password: password(i) });
    const byUid = new Map<string, ReturnType<typeof parseIcs>['events'][number]>();
    for (const text of objects.values()) {
      const ev = parseIcs(text).events[0]!;
      const uid = ev.get('UID')!.value;
      expect(byUid.has(uid), `duplicate UID ${uid}`).toBe(false);
      byUid.set(uid, ev);
    }
    const expected = [...model.values()].filter((m) => m.account === account && m.final.type !== 'booking.cancelled');
    expectedEvents += expected.length;
    for (const m of expected) {
      const ev = byUid.get(bookingObjectId(account, m.id).uid);
      expect(ev, `${m.id} missing`).toBeDefined();
      const b = m.final.booking as { title: string; sequence: number; start: string };
      expect(ev!.get('SUMMARY')!.value).toBe(b.title);
      expect(ev!.get('SEQUENCE')!.value).toBe(String(b.sequence));
      expect(ev!.get('DTSTART')!.value).toBe(new Date(b.start).toISOString().replace(/[-:]/g, '').replace('.000', ''));
    }
    expect(byUid.size, `events in ${account}`).toBe(expected.length);
  }
  console.log(
    JSON.stringify({ seed: SEED, bookings: model.size, messages: messages.length, deliveries, redeliveries, scheduled, faults, expectedEvents }),
  );
  expect(faults).toBeGreaterThan(0);
  expect(redeliveries).toBeGreaterThan(0);
  expect(scheduled).toBeGreaterThan(0);
});
