// Latency: booking message → event in the calendar, on the local stack with its real consumers
// (2 pollers on the FIFO queue, message group = account, as Lambda's event source mapping) and
// the sweeper, at a steady rate over several accounts — as the booking service sends them, one
// SendMessage each. Measured from before the send to the moment the handlers' own CalDAV fetch
// sees the PUT answered 2xx by the server (through the counting proxy).
import { setTimeout as delay } from 'node:timers/promises';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { bookingObjectId } from '../shared/booking/ics.js';
import { bookingEvent } from '../test/harness/bookings.js';
import { slot } from './requests.js';
import { userFor, type Timing, type World } from './world.js';

export interface LatencyResult {
  bookings: number;
  accounts: number;
  perSecond: number;
  consumers: number;
  /** Send → PUT answered, ms. */
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** The rate actually achieved by the sender (it sleeps to a schedule). */
  sentPerSecond: number;
  problems: string[];
}

export async function measureLatency(world: World, opts: { users: string[]; perSecond: number; bookings: number; consumers: number }): Promise<LatencyResult> {
  const problems: string[] = [];
  const stack = await world.startStack({ poll: true, consumers: opts.consumers });
  const accounts = opts.users.map((u) => ({ accountId: `acct-${u}`, user: u }));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  const onPut = (t: Timing) => {
    if (t.method !== 'PUT' || t.status < 200 || t.status >= 300) return;
    const file = decodeURIComponent(t.url).split('/').pop()!;
    const sent = sentAt.get(file);
    if (sent === undefined) return;
    sentAt.delete(file);
    latencies.push(t.at - sent);
    if (latencies.length === opts.bookings) allDone();
  };
  try {
    for (const a of accounts) {
      const res = await world.connect(a.accountId, userFor(a.user), stack);
      if (res.status !== 201) problems.push(`latency: connect ${a.accountId} answered ${res.status}`);
    }
    // One booking per account first, outside the figures (password cache, keep-alive sockets).
    const warm = accounts.map((a) => bookingEvent('confirmed', a.accountId, `bk_lat_warm_${a.user}`, 0));
    const warmFiles = new Set(warm.map((e) => bookingObjectId(e.userId, e.booking.id).filename));
    const warmed = new Promise<void>((resolve) => {
      const seen = (t: Timing) => {
        if (t.method === 'PUT' && warmFiles.delete(decodeURIComponent(t.url).split('/').pop()!) && !warmFiles.size) {
          world.onCaldav.delete(seen);
          resolve();
        }
      };
      world.onCaldav.add(seen);
    });
    for (const e of warm) await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: e.userId, MessageBody: JSON.stringify(e) }));
    await warmed;

    world.onCaldav.add(onPut);
    const interval = 1000 / opts.perSecond;
    const t0 = performance.now();
    for (let i = 0; i < opts.bookings; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await delay(wait);
      const { accountId } = accounts[i % accounts.length]!;
      const e = bookingEvent('confirmed', accountId, `bk_lat_${i}`, 0, { start: slot(i, 0), end: slot(i, 30) });
      sentAt.set(bookingObjectId(accountId, e.booking.id).filename, performance.now());
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: accountId, MessageBody: JSON.stringify(e) }));
    }
    const sentPerSecond = (opts.bookings / (performance.now() - t0)) * 1000;
    const timedOut = await Promise.race([done.then(() => false), delay(30_000).then(() => true)]);
    if (timedOut) problems.push(`latency: ${opts.bookings - latencies.length} booking(s) not written within 30 s of the last send`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    return {
      bookings: opts.bookings,
      accounts: accounts.length,
      perSecond: opts.perSecond,
      consumers: opts.consumers,
      p50Ms: Math.round(at(0.5)),
      p95Ms: Math.round(at(0.95)),
      maxMs: Math.round(sorted[sorted.length - 1] ?? Number.NaN),
      sentPerSecond: Math.round(sentPerSecond * 10) / 10,
      problems,
    };
  } finally {
    world.onCaldav.delete(onPut);
    await world.stopStack(stack);
  }
}
