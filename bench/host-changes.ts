// Host-change detection (issue 18): CalDAV requests of one account's check, counted at the
// proxy in front of Radicale (what the server received), when nothing changed and when the
// host changed one event (a reschedule, a deletion) — the check that sees it and the next one,
// which reads the change a second time (listings may lag writes). Then the detection latency
// on a local stack with its real consumers and scheduler: from the host's edit to the report
// on calendar-changes.fifo. The host's edits go to Radicale directly (not counted).
import { ReceiveMessageCommand, DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { bookingObjectId } from '../shared/booking/ics.js';
import { checkMessage } from '../shared/host-changes/check-message.js';
import { bookingEvent, sqsEvent } from '../test/harness/bookings.js';
import { hostDeletes, hostEdits, moveTo } from '../test/harness/host.js';
import { slot } from './requests.js';
import { PASSWORD, userFor, type Stack, type World } from './world.js';

export interface HostChangesResult {
  bookings: number;
  /** Mean requests of a check, per case. */
  quiet: number;
  rescheduled: { firstSight: number; confirming: number };
  deleted: { firstSight: number; confirming: number };
  detail: Record<'quiet' | 'rescheduledFirst' | 'rescheduledConfirming' | 'deletedFirst' | 'deletedConfirming', string[]>;
  /** From the host's edit to the report received, local stack, interval `intervalSeconds`. */
  latencyMs: { samples: number[]; median: number; max: number; intervalSeconds: number };
  reports: number;
  problems: string[];
}

export const HOST_CALENDARS = ['home', 'work'];

export async function measureHostChanges(world: World, opts: { user: string; latencyUser: string; bookings: number; samples: number; intervalSeconds: number }): Promise<HostChangesResult> {
  const problems: string[] = [];
  const accountId = 'acct-host-changes';
  // Its own stack (no consumers, no timer: the bench sends the checks), deletions not deferred.
  const stack = await world.startStack({ hostChangesReadLagSeconds: 0 });
  try {
    return await countRequests(world, stack, accountId, opts, problems);
  } finally {
    await world.stopStack(stack);
  }
}

async function countRequests(world: World, stack: Stack, accountId: string, opts: { user: string; latencyUser: string; bookings: number; samples: number; intervalSeconds: number }, problems: string[]): Promise<HostChangesResult> {
  const connected = await world.connect(accountId, userFor(opts.user), stack);
  if (connected.status !== 201) problems.push(`connect ${accountId}: ${connected.status}`);
  const host = { username: userFor(opts.user), password: PASSWORD };
  const url = (id: string) => `${world.radicale.url}/${userFor(opts.user)}/home/${bookingObjectId(accountId, id).filename}`;

  const ids = Array.from({ length: opts.bookings }, (_, i) => `bk_host_${i}`);
  for (let i = 0; i < ids.length; i += 10) {
    await stack.syncHandler(sqsEvent(ids.slice(i, i + 10).map((id, j) => bookingEvent('confirmed', accountId, id, 0, { start: slot(i + j, 0), end: slot(i + j, 30) }))));
  }
  const check = async () => {
    await world.resetStats();
    await stack.syncHandler(sqsEvent([checkMessage(accountId)]));
    return (await world.proxy.requests()).map((r) => `${r.method} ${r.status}`);
  };
  // The first check reads the calendars in full, the second confirms: steady state after.
  await check();
  await check();

  const detail: HostChangesResult['detail'] = { quiet: [], rescheduledFirst: [], rescheduledConfirming: [], deletedFirst: [], deletedConfirming: [] };
  const runs: Record<keyof HostChangesResult['detail'], number[]> = { quiet: [], rescheduledFirst: [], rescheduledConfirming: [], deletedFirst: [], deletedConfirming: [] };
  const record = (key: keyof HostChangesResult['detail'], seen: string[]) => {
    runs[key].push(seen.length);
    const line = seen.join(', ') || '(none)';
    if (!detail[key].includes(line)) detail[key].push(line);
  };
  for (let i = 0; i < opts.samples; i++) record('quiet', await check());
  for (let i = 0; i < opts.samples; i++) {
    await hostEdits(url(ids[i]!), host, moveTo(`202702${String(10 + i).padStart(2, '0')}T090000Z`, `202702${String(10 + i).padStart(2, '0')}T100000Z`));
    record('rescheduledFirst', await check());
    record('rescheduledConfirming', await check());
  }
  for (let i = 0; i < opts.samples; i++) {
    await hostDeletes(url(ids[opts.samples + i]!), host);
    record('deletedFirst', await check());
    record('deletedConfirming', await check());
  }
  const reports = await drain(stack);
  if (reports !== 2 * opts.samples) problems.push(`host changes: ${reports} reports for ${2 * opts.samples} host changes`);

  const latency = await measureLatency(world, opts.latencyUser, opts.samples, opts.intervalSeconds, problems);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    bookings: opts.bookings,
    quiet: mean(runs.quiet),
    rescheduled: { firstSight: mean(runs.rescheduledFirst), confirming: mean(runs.rescheduledConfirming) },
    deleted: { firstSight: mean(runs.deletedFirst), confirming: mean(runs.deletedConfirming) },
    detail,
    latencyMs: latency,
    reports,
    problems,
  };
}

/** On a stack with its two consumers and the scheduler: host edit → report received. */
async function measureLatency(world: World, user: string, samples: number, intervalSeconds: number, problems: string[]) {
  const stack = await world.startStack({ poll: true, consumers: 2, sweep: false, hostChecks: true, hostChangesIntervalSeconds: intervalSeconds, hostChangesReadLagSeconds: 0 });
  const accountId = 'acct-host-latency';
  const out: number[] = [];
  try {
    const connected = await world.connect(accountId, userFor(user), stack);
    if (connected.status !== 201) problems.push(`connect ${accountId}: ${connected.status}`);
    const host = { username: userFor(user), password: PASSWORD };
    for (let i = 0; i < samples; i++) {
      const id = `bk_lat_${i}`;
      await stack.syncHandler(sqsEvent([bookingEvent('confirmed', accountId, id, 0, { start: slot(i, 0), end: slot(i, 30) })]));
      // Two intervals: the checks have read the new event (and confirmed it) before the host edits it.
      await new Promise((r) => setTimeout(r, 2 * intervalSeconds * 1000 + 500));
      await drain(stack);
      const t0 = performance.now();
      await hostEdits(`${world.radicale.url}/${userFor(user)}/home/${bookingObjectId(accountId, id).filename}`, host, moveTo('20270301T090000Z', '20270301T100000Z'));
      const deadline = t0 + (intervalSeconds + 60) * 1000;
      let got = 0;
      while (!got && performance.now() < deadline) got = await drain(stack, 1);
      if (!got) problems.push(`latency sample ${i}: no report within an interval plus a minute`);
      else out.push(performance.now() - t0);
    }
  } finally {
    await world.stopStack(stack);
  }
  const sorted = [...out].sort((a, b) => a - b);
  return { samples: out.map(Math.round), median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN), max: Math.round(sorted.at(-1) ?? Number.NaN), intervalSeconds };
}

/** Receives (and deletes) what calendar-changes.fifo holds; returns how many. */
async function drain(stack: Stack, waitSeconds = 0): Promise<number> {
  let n = 0;
  for (;;) {
    const res = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.changesQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
    const messages = res.Messages ?? [];
    if (!messages.length) return n;
    n += messages.length;
    await stack.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: stack.changesQueueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    waitSeconds = 0;
  }
}
