// Throughput: bookings synced per second through the real SQS handler (one warm container,
// SQS batches of 10, one invocation after another), against the same server's rate for plain
// PUTs of equivalent ICS at the same concurrency, measured in the same run and interleaved
// (raw, sync, sync, raw, raw, sync …) so drift on the machine hits both alike.
import { mapLimit } from '../shared/concurrency.js';
import { basicAuth } from '../shared/caldav/transport.js';
import { bookingObjectId, bookingToIcs } from '../shared/booking/ics.js';
import type { BookingDetails } from '../shared/booking/booking-event.js';
import { bookingEvent, sqsEvent } from '../test/harness/bookings.js';
import { slot } from './requests.js';
import { PASSWORD, userFor, type World } from './world.js';

export interface ThroughputOptions {
  label: string;
  /** Connected accounts the bookings are spread over, round-robin (each batch mixes them). */
  accounts: Array<{ accountId: string; user: string }>;
  /** Radicale users (one calendar each, as many as `accounts`) for the raw PUTs. */
  rawUsers: string[];
  /** As many again for the raw PUTs in batches (each calendar holds as many objects as the others). */
  rawBatchUsers: string[];
  bookings: number;
  batchSize: number;
  /** Requests in flight for the raw PUTs: what the sync path allows within one batch. */
  concurrency: number;
  /** Rounds the bookings are split into; each round times raw PUTs and sync, alternating which goes first. */
  rounds: number;
  /** Delay the proxy adds before every request (simulated network distance), ms. */
  latencyMs?: number;
  attendeeMode: 'attendees' | 'description';
}

export interface ModeStats {
  ms: number;
  perSec: number;
  /** Requests the server received (counted at the proxy). */
  requests: number;
  requestsByKind: Record<string, number>;
  /** Mean client-side duration of one CalDAV request, ms. */
  meanRequestMs: number;
  /** Mean CalDAV requests in flight over the run (sum of request durations / wall time). */
  meanInFlight: number;
  /** CPU used by this Node process (handler, dynalite, fauxqs; not the proxy), ms per booking. */
  nodeCpuMsPerBooking: number;
  /** CPU used by Radicale, ms per booking (undefined when /proc is not available). */
  radicaleCpuMsPerBooking?: number;
}

export interface ThroughputResult {
  label: string;
  bookings: number;
  batches: number;
  accounts: number;
  concurrency: number;
  latencyMs: number;
  syncPerSec: number;
  rawPutPerSec: number;
  ratio: number;
  /**
   * Raw PUTs in the handler's batches (`batchSize` at a time, at the same concurrency, one
   * batch after another): what a handler with no work of its own would reach with the queue's
   * batches — the ceiling of `ratio` that the batch boundaries leave.
   */
  rawBatchedPerSec: number;
  sync: ModeStats & { dynamoCallsPerBooking: number; dynamoMeanMs: number; dynamoByCommand: Record<string, number> };
  raw: ModeStats;
  rawBatched: ModeStats;
  problems: string[];
}

interface Totals {
  ms: number;
  requests: Map<string, number>;
  requestMs: number;
  requestCount: number;
  nodeCpuUs: number;
  radicaleCpuS: number | undefined;
  dynamoCalls: number;
  dynamoMs: number;
  dynamoByCommand: Map<string, number>;
}

const emptyTotals = (): Totals => ({
  ms: 0,
  requests: new Map(),
  requestMs: 0,
  requestCount: 0,
  nodeCpuUs: 0,
  radicaleCpuS: 0,
  dynamoCalls: 0,
  dynamoMs: 0,
  dynamoByCommand: new Map(),
});

export async function measureThroughput(world: World, opts: ThroughputOptions): Promise<ThroughputResult> {
  const sync = world.stack.syncHandler;
  const problems: string[] = [];
  const k = opts.accounts.length;

  const events = Array.from({ length: opts.bookings }, (_, i) => {
    const { accountId } = opts.accounts[i % k]!;
    return bookingEvent('confirmed', accountId, `bk_${opts.label}_${i}`, 0, {
      title: `Consultation ${i} (${opts.label})`,
      start: slot(i, 0),
      end: slot(i, 30),
      attendees: [{ name: `Guest ${i}`, email: `guest${i}@example.com` }],
    });
  });
  // The raw PUTs: the same ICS the sync path writes (same generator, same UID scheme), built
  // before the clock starts, to a calendar of their own with the same number of objects.
  const raw = events.map((ev, i) => {
    const user = opts.rawUsers[i % k]!;
    const { uid, filename } = bookingObjectId(ev.userId, ev.booking.id);
    return {
      url: `${world.proxy.url}${world.radicale.calendarPath(userFor(user))}${filename}`,
      ics: bookingToIcs(ev.booking as BookingDetails, { uid }, { attendeeMode: opts.attendeeMode }),
      headers: {
        ...basicAuth({ username: userFor(user), password: PASSWORD }),
        'Content-Type': 'text/calendar; charset=utf-8',
        'If-None-Match': '*',
      },
    };
  });

  // The same again under other names, for the raw PUTs in batches.
  const rawInBatches = raw.map((p, i) => {
    const user = opts.rawBatchUsers[i % k]!;
    return {
      url: `${world.proxy.url}${world.radicale.calendarPath(userFor(user))}${p.url.split('/').pop()}`,
      ics: p.ics,
      headers: { ...p.headers, ...basicAuth({ username: userFor(user), password: PASSWORD }) },
    };
  });
  const putRaw = async (p: (typeof raw)[number]) => {
    const res = await world.fetch(p.url, { method: 'PUT', headers: p.headers, body: p.ics });
    await res.arrayBuffer();
    if (res.status !== 201) problems.push(`raw PUT answered ${res.status}`);
  };
  const deliverBatch = async (batch: typeof events) => {
    const res = await sync(sqsEvent(batch));
    if (res.batchItemFailures.length) problems.push(`sync: ${res.batchItemFailures.length} batch item failure(s)`);
  };

  // Warm both paths (connections, TLS-less keep-alive sockets, the password cache, JIT) with
  // bookings outside the measured set.
  await Promise.all(
    [...opts.rawUsers, ...opts.rawBatchUsers].map((user, n) => [user, n % k] as const).map(([user, i]) =>
      putRaw({
        url: `${world.proxy.url}${world.radicale.calendarPath(userFor(user))}warmup-${opts.label}.ics`,
        ics: raw[i]!.ics.replace(/UID:[^\r\n]+/, `UID:warmup-${opts.label}-${i}`),
        headers: { ...raw[i]!.headers, ...basicAuth({ username: userFor(user), password: PASSWORD }) },
      }),
    ),
  );
  await deliverBatch(opts.accounts.map((a, i) => bookingEvent('confirmed', a.accountId, `bk_${opts.label}_warmup_${i}`, 0)));
  if (opts.latencyMs) await world.proxy.setDelay(opts.latencyMs);

  const totals = { raw: emptyTotals(), rawBatched: emptyTotals(), sync: emptyTotals() };
  const measure = async (into: Totals, work: () => Promise<unknown>) => {
    await world.resetStats();
    const cpu0 = process.cpuUsage();
    const rad0 = world.radicaleCpuSeconds();
    const t0 = performance.now();
    await work();
    into.ms += performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    into.nodeCpuUs += cpu.user + cpu.system;
    const rad1 = world.radicaleCpuSeconds();
    into.radicaleCpuS = rad0 === undefined || rad1 === undefined || into.radicaleCpuS === undefined ? undefined : into.radicaleCpuS + (rad1 - rad0);
    for (const r of await world.proxy.requests()) {
      const kind = `${r.method} ${r.status}`;
      into.requests.set(kind, (into.requests.get(kind) ?? 0) + 1);
    }
    for (const t of world.caldavTimings) {
      into.requestMs += t.ms;
      into.requestCount += 1;
    }
    into.dynamoCalls += world.dynamo.calls;
    into.dynamoMs += world.dynamo.ms;
    for (const [name, n] of world.dynamo.byCommand) into.dynamoByCommand.set(name, (into.dynamoByCommand.get(name) ?? 0) + n);
  };

  try {
    const perRound = Math.ceil(opts.bookings / opts.rounds / opts.batchSize) * opts.batchSize;
    for (let start = 0, round = 0; start < opts.bookings; start += perRound, round++) {
      const end = Math.min(opts.bookings, start + perRound);
      const rawRound = async () => {
        await measure(totals.raw, () => mapLimit(raw.slice(start, end), opts.concurrency, putRaw));
        await measure(totals.rawBatched, async () => {
          for (let b = start; b < end; b += opts.batchSize) await mapLimit(rawInBatches.slice(b, Math.min(end, b + opts.batchSize)), opts.concurrency, putRaw);
        });
      };
      const syncRound = () =>
        measure(totals.sync, async () => {
          for (let b = start; b < end; b += opts.batchSize) await deliverBatch(events.slice(b, Math.min(end, b + opts.batchSize)));
        });
      // Alternate which goes first, so neither always follows the other.
      if (round % 2 === 0) {
        await rawRound();
        await syncRound();
      } else {
        await syncRound();
        await rawRound();
      }
    }
  } finally {
    await world.proxy.setDelay(0);
  }

  const stats = (t: Totals): ModeStats => ({
    ms: round(t.ms, 1),
    perSec: round((opts.bookings / t.ms) * 1000, 1),
    requests: [...t.requests.values()].reduce((a, b) => a + b, 0),
    requestsByKind: Object.fromEntries(t.requests),
    meanRequestMs: round(t.requestMs / Math.max(1, t.requestCount), 2),
    meanInFlight: round(t.requestMs / t.ms, 2),
    nodeCpuMsPerBooking: round(t.nodeCpuUs / 1000 / opts.bookings, 2),
    ...(t.radicaleCpuS === undefined ? {} : { radicaleCpuMsPerBooking: round((t.radicaleCpuS * 1000) / opts.bookings, 2) }),
  });
  const syncStats = stats(totals.sync);
  const rawStats = stats(totals.raw);
  const rawBatchedStats = stats(totals.rawBatched);
  const created = totals.sync.requests.get('PUT 201') ?? 0;
  if (created !== opts.bookings) problems.push(`sync wrote ${created} events for ${opts.bookings} bookings`);

  return {
    label: opts.label,
    bookings: opts.bookings,
    batches: Math.ceil(opts.bookings / opts.batchSize),
    accounts: k,
    concurrency: opts.concurrency,
    latencyMs: opts.latencyMs ?? 0,
    syncPerSec: syncStats.perSec,
    rawPutPerSec: rawStats.perSec,
    ratio: round(syncStats.perSec / rawStats.perSec, 3),
    rawBatchedPerSec: rawBatchedStats.perSec,
    sync: {
      ...syncStats,
      dynamoCallsPerBooking: round(totals.sync.dynamoCalls / opts.bookings, 2),
      dynamoMeanMs: round(totals.sync.dynamoMs / Math.max(1, totals.sync.dynamoCalls), 2),
      dynamoByCommand: Object.fromEntries([...totals.sync.dynamoByCommand].sort((a, b) => b[1] - a[1])),
    },
    raw: rawStats,
    rawBatched: rawBatchedStats,
    problems,
  };
}

export const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
