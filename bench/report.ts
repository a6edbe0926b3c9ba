// The benchmark's result object (the JSON shape) and its readable table.
import type { BundleResult } from './bundles.js';
import type { BusyResult } from './busy.js';
import type { FairnessResult } from './fairness.js';
import type { HostChangesResult } from './host-changes.js';
import type { KmsResult } from './kms.js';
import type { LatencyResult } from './latency.js';
import type { RequestCounts, RequestsResult } from './requests.js';
import type { ThroughputResult } from './throughput.js';

export const TARGETS = {
  requestsPerChange: 1,
  dynamoCallsPerChange: 4,
  ratio: 0.8,
  bundleBytes: 1_000_000,
  /** Cold import of every function, median, as deployed (≤). */
  initMs: 150,
  decryptsPerAccount: 1,
  fairnessWaitMs: 2000,
  /** Booking message → event in the calendar at a steady 5 bookings/s over 10 accounts. */
  latencyP50Ms: 1000,
  latencyMaxMs: 3000,
  /** Busy reads: a warm read with nothing changed, and after one event changed (cold: one per checked calendar). */
  busyWarmUnchanged: 1,
  busyWarmChanged: 2,
  /** Host-change checks: one account, nothing changed / one event changed (contract §2b, issue 18). */
  hostCheckQuiet: 1,
  hostCheckOneChanged: 3,
  /** Warm read of 20 daily series since 2012 + a 15-minute series vs 20 plain events (issue 16, ≤). */
  busyCostRatio: 3,
};

export interface BenchReport {
  caldavRequests: RequestCounts;
  throughput: { bookings: number; syncPerSec: number; rawPutPerSec: number; ratio: number } & Record<string, unknown>;
  bundles: Record<string, { bytes: number; initMs: number } & Partial<BundleResult>>;
  kmsDecryptsPerAccount: number;
  fairness?: { backlog: number; waitMs: number } & Partial<FairnessResult>;
  [extra: string]: unknown;
}

export function buildReport(parts: {
  requests?: RequestsResult;
  throughput?: ThroughputResult;
  variants?: ThroughputResult[];
  bundles?: Record<string, BundleResult>;
  kms?: KmsResult;
  fairness?: FairnessResult;
  latency?: LatencyResult;
  busy?: BusyResult;
  hostChanges?: HostChangesResult;
  environment: Record<string, unknown>;
  durationMs: number;
  problems: string[];
}): BenchReport {
  const t = parts.throughput;
  const nan = Number.NaN;
  return {
    caldavRequests: parts.requests?.counts ?? { connect: nan, create: nan, update: nan, cancel: nan, redelivered: nan },
    throughput: {
      bookings: t?.bookings ?? 0,
      syncPerSec: t?.syncPerSec ?? nan,
      rawPutPerSec: t?.rawPutPerSec ?? nan,
      ratio: t?.ratio ?? nan,
      ...(t
        ? {
            batchSize: Math.ceil(t.bookings / t.batches),
            batches: t.batches,
            accounts: t.accounts,
            concurrency: t.concurrency,
            sync: t.sync,
            raw: t.raw,
            rawBatched: t.rawBatched,
            rawBatchedPerSec: t.rawBatchedPerSec,
          }
        : {}),
      ...(parts.variants?.length
        ? {
            variants: parts.variants.map((v) => ({
              accounts: v.accounts,
              latencyMs: v.latencyMs,
              bookings: v.bookings,
              syncPerSec: v.syncPerSec,
              rawPutPerSec: v.rawPutPerSec,
              ratio: v.ratio,
              syncInFlight: v.sync.meanInFlight,
              rawInFlight: v.raw.meanInFlight,
            })),
          }
        : {}),
    },
    bundles: parts.bundles ?? {},
    kmsDecryptsPerAccount: parts.kms?.decryptsPerAccount ?? nan,
    fairness: parts.fairness
      ? {
          backlog: parts.fairness.backlog,
          waitMs: parts.fairness.waitMs,
          consumers: parts.fairness.consumers,
          samples: parts.fairness.samples,
          enqueueMs: parts.fairness.enqueueMs,
          backlogPerSec: parts.fairness.backlogPerSec,
        }
      : undefined,
    latency: parts.latency,
    busy: parts.busy,
    hostChanges: parts.hostChanges,
    caldavRequestsSeen: parts.requests ? { samples: parts.requests.samples, ...summariseDetail(parts.requests.detail) } : undefined,
    dynamoCallsPerOperation: parts.requests?.dynamoCalls,
    kmsDecrypts: parts.kms,
    targets: TARGETS,
    environment: parts.environment,
    durationMs: Math.round(parts.durationMs),
    problems: parts.problems,
  };
}

function summariseDetail(detail: RequestsResult['detail']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(detail).map(([op, runs]) => {
      const distinct = [...new Set(runs.map((r) => (r.length ? r.join(', ') : '(none)')))];
      return [op, distinct.join(' | ')];
    }),
  );
}

// ---------------------------------------------------------------------------------------------

const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;
const num = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits).replace(/\.0+$/, ''));
const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const last = widths.length - 1;
  // Names left, figures right; a wide text column at the end stays left too.
  const cell = (text: string, c: number) => (c === 0 || (c === last && widths[c]! > 24) ? text.padEnd(widths[c]!) : text.padStart(widths[c]!));
  return rows.map((r) => '  ' + r.map(cell).join('   ').trimEnd()).join('\n');
}

type ThroughputView = BenchReport['throughput'] & {
  batches?: number;
  batchSize?: number;
  accounts?: number;
  concurrency?: number;
  sync?: ThroughputResult['sync'];
  raw?: ThroughputResult['raw'];
  rawBatched?: ThroughputResult['rawBatched'];
  rawBatchedPerSec?: number;
  variants?: Array<{ accounts: number; latencyMs: number; bookings: number; syncPerSec: number; rawPutPerSec: number; ratio: number; syncInFlight: number; rawInFlight: number }>;
};

export function renderTable(r: BenchReport): string {
  const env = r.environment as Record<string, string | number>;
  const sections = [
    [`Apple Calendar connector benchmark — ${env.date} · Node ${env.node} · Radicale ${env.radicale} · ${env.cpus} CPUs · ${(Number(r.durationMs) / 1000).toFixed(0)} s`],
    r.caldavRequestsSeen ? requestsSection(r) : [],
    r.throughput.bookings > 0 ? throughputSection(r.throughput as ThroughputView) : [],
    Object.keys(r.bundles).length ? bundlesSection(r.bundles) : [],
    r.dependencyInit ? dependencySection(r.dependencyInit as Record<string, { bytes: number; initMs: number } | { missing: string }>) : [],
    r.kmsDecrypts ? kmsSection(r.kmsDecryptsPerAccount, r.kmsDecrypts as KmsResult) : [],
    r.fairness ? fairnessSection(r.fairness) : [],
    r.latency ? latencySection(r.latency as LatencyResult) : [],
    r.busy ? busySection(r.busy as BusyResult) : [],
    r.hostChanges ? hostChangesSection(r.hostChanges as HostChangesResult) : [],
    (r.problems as string[]).length ? ['Problems:', ...(r.problems as string[]).map((p) => `  - ${p}`)] : [],
  ];
  return sections
    .filter((s) => s.length)
    .map((s) => s.join('\n'))
    .join('\n\n');
}

function requestsSection(r: BenchReport): string[] {
  const seen = (r.caldavRequestsSeen ?? {}) as Record<string, string | number>;
  const ddb = (r.dynamoCallsPerOperation ?? {}) as Record<string, number>;
  const target: Record<string, number> = { create: 1, update: 1, cancel: 1, redelivered: 0 };
  const rows = [['operation', 'requests', 'target', '', 'what the server saw', 'DynamoDB calls', `≤ ${TARGETS.dynamoCallsPerChange}`]];
  for (const op of ['connect', 'create', 'update', 'cancel', 'redelivered'] as const) {
    const n = r.caldavRequests[op];
    const goal = target[op];
    const calls = ddb[op];
    rows.push([
      op,
      num(n, 2),
      goal === undefined ? 'discovery' : `≤ ${goal}`,
      goal === undefined ? '' : mark(n <= goal),
      String(seen[op] ?? ''),
      num(calls, 1),
      goal === undefined || calls === undefined ? '' : mark(calls <= TARGETS.dynamoCallsPerChange),
    ]);
  }
  return [`CalDAV requests the server received (counted at the proxy; mean of ${seen.samples ?? '?'} samples each, steady state)`, table(rows)];
}

function throughputSection(t: ThroughputView): string[] {
  const rows = [
    ['', 'per second', 'CalDAV req/booking', 'mean req ms', 'req in flight', 'node CPU ms/booking', 'Radicale CPU ms/booking'],
    [
      'sync handler',
      num(t.syncPerSec),
      t.sync ? num(t.sync.requests / t.bookings, 2) : 'n/a',
      num(t.sync?.meanRequestMs),
      num(t.sync?.meanInFlight, 2),
      num(t.sync?.nodeCpuMsPerBooking, 2),
      num(t.sync?.radicaleCpuMsPerBooking, 2),
    ],
    [
      'raw PUT',
      num(t.rawPutPerSec),
      t.raw ? num(t.raw.requests / t.bookings, 2) : 'n/a',
      num(t.raw?.meanRequestMs),
      num(t.raw?.meanInFlight, 2),
      num(t.raw?.nodeCpuMsPerBooking, 2),
      num(t.raw?.radicaleCpuMsPerBooking, 2),
    ],
    ...(t.rawBatched
      ? [
          [
            `raw PUT, ${t.batchSize ?? '?'} at a time`,
            num(t.rawBatchedPerSec),
            num(t.rawBatched.requests / t.bookings, 2),
            num(t.rawBatched.meanRequestMs),
            num(t.rawBatched.meanInFlight, 2),
            num(t.rawBatched.nodeCpuMsPerBooking, 2),
            num(t.rawBatched.radicaleCpuMsPerBooking, 2),
          ],
        ]
      : []),
  ];
  const out = [
    `Throughput: ${t.bookings} bookings through the SQS handler, ${t.batches ?? '?'} batches of ${t.batchSize ?? '?'} one after another (one warm container), spread over ${t.accounts ?? '?'} accounts; raw PUTs ${t.concurrency ?? '?'} at a time`,
    table(rows),
    `  ratio sync/raw: ${num(t.ratio, 2)}   target ≥ ${TARGETS.ratio}   ${mark(t.ratio >= TARGETS.ratio)}`,
  ];
  if (t.rawBatched && t.rawBatchedPerSec) {
    out.push(
      `  the queue's batches alone (raw PUTs ${t.batchSize ?? '?'} at a time / raw): ${num(t.rawBatchedPerSec / t.rawPutPerSec, 2)} — the most any handler reaches here; sync reaches ${num(t.syncPerSec / t.rawBatchedPerSec, 2)} of it`,
    );
  }
  if (t.sync) {
    const byCommand = Object.entries(t.sync.dynamoByCommand)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    out.push(`  DynamoDB (dynalite, in a process of its own) per booking: ${num(t.sync.dynamoCallsPerBooking, 2)} calls, ${num(t.sync.dynamoMeanMs, 2)} ms each (${byCommand})`);
  }
  for (const v of t.variants ?? []) {
    out.push(
      `  +${v.latencyMs} ms per CalDAV request, ${v.bookings} bookings of ${v.accounts} account(s): sync ${num(v.syncPerSec)}/s, raw ${num(v.rawPutPerSec)}/s, ratio ${num(v.ratio, 2)}; requests in flight ${num(v.syncInFlight, 2)} vs ${num(v.rawInFlight, 2)}`,
    );
  }
  return out;
}

function bundlesSection(bundles: BenchReport['bundles']): string[] {
  const rows = [['function', 'bytes', '< 1 MB', 'initMs', `≤ ${TARGETS.initMs}`, 'fastest', 'with --enable-source-maps', 'largest parts']];
  for (const [name, b] of Object.entries(bundles)) {
    rows.push([
      name,
      `${b.bytes} (${kb(b.bytes)})`,
      mark(b.bytes < TARGETS.bundleBytes),
      num(b.initMs),
      mark(b.initMs <= TARGETS.initMs),
      num(b.initMsMin),
      num(b.initMsEnableSourceMaps),
      (b.largest ?? [])
        .slice(0, 3)
        .map((l) => `${l.module} ${kb(l.bytes)}`)
        .join(', '),
    ]);
  }
  return [
    'Bundles (esbuild options from infra/bundling.ts, minified, map beside; median import() time in a fresh Node process, environment as deployed)',
    table(rows),
  ];
}

function dependencySection(deps: Record<string, { bytes: number; initMs: number } | { missing: string }>): string[] {
  const rows = [['bundled alone', 'bytes', 'initMs']];
  for (const [label, d] of Object.entries(deps)) rows.push('missing' in d ? [label, 'not installed', ''] : [label, kb(d.bytes), num(d.initMs)]);
  return ['Where the init time goes (--explain: each bundled alone, same options, no source map; median import() time)', table(rows)];
}

function kmsSection(perAccount: number, k: KmsResult): string[] {
  return [
    `KMS Decrypt calls per account: ${num(perAccount, 2)}   target ${TARGETS.decryptsPerAccount} per cache window   ${mark(perAccount <= TARGETS.decryptsPerAccount)}`,
    `  (${k.accounts} accounts × ${k.bookingsPerAccount} bookings in ${k.batches} batches of one warm container; one account over ${k.overTime.minutes} simulated minutes, a batch a minute: ${k.overTime.decrypts} Decrypts)`,
  ];
}

function fairnessSection(f: NonNullable<BenchReport['fairness']>): string[] {
  const samples = (f.samples ?? []).map((s) => `${num(s.waitMs, 0)} ms (queue ${s.queueDepthAtSend}, backlog written ${s.backlogWrittenAtSend})`).join('; ');
  return [
    `Fairness: another account's booking behind one account's backlog of ${f.backlog} on the FIFO queue (${f.consumers ?? '?'} consumers, local stack)`,
    `  wait from send to its PUT answered: ${num(f.waitMs, 0)} ms (median)   target < ${TARGETS.fairnessWaitMs} ms   ${mark(f.waitMs < TARGETS.fairnessWaitMs)}`,
    `  samples: ${samples}`,
    `  backlog sent in ${f.enqueueMs ?? '?'} ms; meanwhile it kept draining at ${num(f.backlogPerSec)} PUT/s`,
  ];
}

function latencySection(l: LatencyResult): string[] {
  const ok = l.p50Ms <= TARGETS.latencyP50Ms && l.maxMs <= TARGETS.latencyMaxMs;
  return [
    `Latency: booking message → event in the calendar, ${l.bookings} bookings at ${l.perSecond}/s (sent ${num(l.sentPerSecond)}/s) over ${l.accounts} accounts (${l.consumers} consumers, local stack)`,
    `  p50 ${num(l.p50Ms, 0)} ms   p95 ${num(l.p95Ms, 0)} ms   max ${num(l.maxMs, 0)} ms   target p50 ≤ ${TARGETS.latencyP50Ms} ms, max ≤ ${TARGETS.latencyMaxMs} ms   ${mark(ok)}`,
  ];
}

function busySection(b: BusyResult): string[] {
  const rows = [
    ['busy read', 'requests', 'target', '', 'what the server saw'],
    // Two queries per calendar: in range, and every recurring object (servers' time-range tests on recurrences are not trusted).
    ['cold', num(b.cold, 2), String(2 * b.calendars), mark(b.cold <= 2 * b.calendars), b.detail.cold.join(' | ')],
    ['warm, nothing changed', num(b.warmUnchanged, 2), String(TARGETS.busyWarmUnchanged), mark(b.warmUnchanged <= TARGETS.busyWarmUnchanged), b.detail.warmUnchanged.join(' | ')],
    ['warm, one event changed', num(b.warmChanged, 2), String(TARGETS.busyWarmChanged), mark(b.warmChanged <= TARGETS.busyWarmChanged), b.detail.warmChanged.join(' | ')],
  ];
  return [
    `Busy times: ${b.calendars} checked calendars, ${b.eventsPerCalendar} events each (a quarter weekly in Europe/Berlin), a 4-week window; every read revalidates`,
    table(rows),
    `  warm read through the local HTTP API (JWT check, DynamoDB, one PROPFIND, expansion): p50 ${num(b.warmMs.p50)} ms, p95 ${num(b.warmMs.p95)} ms over ${b.warmMs.samples} reads`,
    ...(b.cost
      ? [
          `  cost of history (7-day window, warm, in turns): 20 daily series since 2012 + one 15-minute series since 2022 p50 ${num(b.cost.historyP50)} ms` +
            ` vs 20 plain events p50 ${num(b.cost.plainP50)} ms: ratio ${num(b.cost.ratio, 2)}   target ≤ ${TARGETS.busyCostRatio}   ${mark(b.cost.ratio <= TARGETS.busyCostRatio)}` +
            ` (${b.cost.historyBusyIntervals} intervals answered, ${b.cost.samples} reads each)`,
        ]
      : []),
  ];
}

function hostChangesSection(h: HostChangesResult): string[] {
  const rows = [
    ['host-change check', 'requests', 'target', '', 'what the server saw'],
    ['nothing changed', num(h.quiet, 2), String(TARGETS.hostCheckQuiet), mark(h.quiet <= TARGETS.hostCheckQuiet), h.detail.quiet.join(' | ')],
    ['one event rescheduled', num(h.rescheduled.firstSight, 2), String(TARGETS.hostCheckOneChanged), mark(h.rescheduled.firstSight <= TARGETS.hostCheckOneChanged), h.detail.rescheduledFirst.join(' | ')],
    ['  the next check (re-read)', num(h.rescheduled.confirming, 2), String(TARGETS.hostCheckOneChanged), mark(h.rescheduled.confirming <= TARGETS.hostCheckOneChanged), h.detail.rescheduledConfirming.join(' | ')],
    ['one event deleted (confirmed)', num(h.deleted.firstSight, 2), '', '', h.detail.deletedFirst.join(' | ')],
    ['  the next check (re-read)', num(h.deleted.confirming, 2), String(TARGETS.hostCheckOneChanged), mark(h.deleted.confirming <= TARGETS.hostCheckOneChanged), h.detail.deletedConfirming.join(' | ')],
  ];
  const l = h.latencyMs;
  return [
    `Host changes: one account, ${h.bookings} booking events in Home of two calendars; ${h.reports} reports`,
    table(rows),
    `  detection latency (host edit → report on calendar-changes.fifo), local stack, ${l.intervalSeconds} s interval, 2 consumers: median ${num(l.median, 0)} ms, max ${num(l.max, 0)} ms (${l.samples.join(', ')} ms)`,
  ];
}
