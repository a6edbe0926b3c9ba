// Fairness: one account's big backlog must not hold up another account's booking. The local
// stack runs with its real consumers (2 pollers on the FIFO queue, message group = account,
// as Lambda's event source mapping does); one account has `backlog` changes already on the
// queue when another account's single booking is sent. The wait is from that send to its PUT
// coming back from the server (the handlers' own CalDAV fetch sees it).
import { setTimeout as delay } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { BookingQueue } from '../shared/booking/booking-queue.js';
import type { BookingEvent } from '../shared/booking/booking-event.js';
import { bookingObjectId } from '../shared/booking/ics.js';
import { bookingEvent } from '../test/harness/bookings.js';
import { slot } from './requests.js';
import { userFor, type Stack, type Timing, type World } from './world.js';

export interface FairnessResult {
  /** Changes of the busy account sent to the queue before the other account's booking. */
  backlog: number;
  /** Median wait over the samples, ms: send → the other account's PUT answered by the server. */
  waitMs: number;
  consumers: number;
  /** Each sample: its wait, the queue's depth when it was sent, the backlog's PUTs done by then. */
  samples: Array<{ waitMs: number; queueDepthAtSend: number; backlogWrittenAtSend: number }>;
  /** How long sending the backlog took (the consumers were already draining it). */
  enqueueMs: number;
  /** The busy account's PUTs per second while the samples ran: the backlog kept moving too. */
  backlogPerSec: number;
  problems: string[];
}

export async function measureFairness(world: World, opts: { backlog: number; samples: number; consumers: number; backlogUser: string; otherUser: string }): Promise<FairnessResult> {
  const problems: string[] = [];
  const stack = await world.startStack({ poll: true, consumers: opts.consumers });
  try {
    const busy = `acct-${opts.backlogUser}`;
    const other = `acct-${opts.otherUser}`;
    for (const [id, user] of [[busy, opts.backlogUser], [other, opts.otherUser]] as const) {
      const res = await world.connect(id, userFor(user), stack);
      if (res.status !== 201) problems.push(`fairness: connect ${id} answered ${res.status}`);
    }
    const queue = new BookingQueue(stack.sqs, stack.queueUrl);
    let backlogWritten = 0;
    let backlogFailed = 0;
    const busyPath = `/${userFor(opts.backlogUser)}/`;
    const countBacklog = (t: Timing) => {
      if (t.method !== 'PUT' || !decodeURIComponent(t.url).includes(busyPath)) return;
      if (t.status >= 200 && t.status < 300) backlogWritten += 1;
      else backlogFailed += 1;
    };
    world.onCaldav.add(countBacklog);

    const backlog = Array.from({ length: opts.backlog }, (_, i) =>
      bookingEvent('confirmed', busy, `bk_fair_backlog_${i}`, 0, { start: slot(i, 0), end: slot(i, 30) }),
    ) as BookingEvent[];
    const t0 = performance.now();
    await queue.send(backlog, 'bench-backlog');
    const enqueueMs = performance.now() - t0;

    const samples: FairnessResult['samples'] = [];
    const drain0 = { at: performance.now(), written: backlogWritten };
    for (let s = 0; s < opts.samples; s++) {
      // Spread the samples over the drain, once the busy account's batches run back to back.
      await delay(s === 0 ? 500 : 1000);
      const event = bookingEvent('confirmed', other, `bk_fair_other_${s}`, 0, { start: slot(s, 0), end: slot(s, 30) }) as BookingEvent;
      const { filename } = bookingObjectId(other, event.booking.id);
      let stopWatching = () => {};
      const written = new Promise<number>((resolve) => {
        const watch = (t: Timing) => {
          if (t.method === 'PUT' && t.url.endsWith(filename) && t.status >= 200 && t.status < 300) resolve(t.at);
        };
        world.onCaldav.add(watch);
        stopWatching = () => world.onCaldav.delete(watch);
      });
      const queueDepthAtSend = await depth(stack);
      const backlogWrittenAtSend = backlogWritten;
      const sent = performance.now();
      await queue.send([event], 'bench-fairness');
      const at = await Promise.race([written, delay(120_000, undefined, { ref: false })]);
      stopWatching();
      if (at === undefined) {
        problems.push(`fairness: the other account's booking was not written within 120 s`);
        break;
      }
      samples.push({ waitMs: round1(at - sent), queueDepthAtSend, backlogWrittenAtSend });
    }
    const backlogPerSec = ((backlogWritten - drain0.written) / (performance.now() - drain0.at)) * 1000;
    world.onCaldav.delete(countBacklog);
    if (backlogFailed) problems.push(`fairness: ${backlogFailed} backlog PUT(s) not written`);
    if (samples.length && samples.every((s) => s.queueDepthAtSend < 10)) problems.push('fairness: the backlog was drained before the other booking was sent');
    return { backlog: opts.backlog, waitMs: median(samples.map((s) => s.waitMs)), consumers: opts.consumers, samples, enqueueMs: Math.round(enqueueMs), backlogPerSec: round1(backlogPerSec), problems };
  } finally {
    await world.stopStack(stack);
  }
}

/** Messages on the queue, visible or in flight. */
async function depth(stack: Stack): Promise<number> {
  const out = await stack.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

const median = (xs: number[]) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round1 = (n: number) => Math.round(n * 10) / 10;
