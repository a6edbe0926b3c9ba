// `npm run bench` — CalDAV requests per operation, sync throughput against raw PUTs, bundle
// sizes and cold import times, KMS Decrypts per account, fairness (one account's backlog vs
// another's booking); against a real Radicale started here on 127.0.0.1 and the real handlers
// (through the local stack). `-- --json` prints one JSON object on stdout and nothing else.
// Nothing global is patched: the handlers get their instrumentation (CalDAV fetch, log stream,
// metrics sink, DynamoDB middleware) through the local stack's options. See bench/README.md.
//
// Options: --json  --bookings N (default 500)  --accounts N (default 10)  --runs N (cold
// imports per bundle, default 7)  --latency-ms N (extra throughput runs with this delay per
// CalDAV request, default 50; 0 skips them)  --backlog N (fairness backlog, default 2000)
// --only requests,throughput,bundles,kms,fairness,latency,busy,host-changes  --explain (also time single dependencies
// bundled alone: where the init time goes)
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { SYNC_DEFAULTS } from '../shared/config.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    bookings: { type: 'string', default: '500' },
    accounts: { type: 'string', default: '10' },
    runs: { type: 'string', default: '7' },
    'latency-ms': { type: 'string', default: '50' },
    backlog: { type: 'string', default: '2000' },
    only: { type: 'string' },
    explain: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});
const intArg = (name: string, value: string | undefined, min: number) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
  return n;
};
const BOOKINGS = intArg('bookings', args.bookings, 10);
const ACCOUNTS = intArg('accounts', args.accounts, 1);
const RUNS = intArg('runs', args.runs, 1);
const LATENCY_MS = intArg('latency-ms', args['latency-ms'], 0);
const BACKLOG = intArg('backlog', args.backlog, 10);
const SECTIONS = ['requests', 'throughput', 'bundles', 'kms', 'fairness', 'latency', 'busy', 'host-changes'];
const ONLY = new Set((args.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()));
for (const s of ONLY) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
const BATCH_SIZE = 10; // the SQS event source's batch size
const json = args.json;

const started = performance.now();
const progress = (msg: string) => {
  if (!json) process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
};

async function main() {
  const problems: string[] = [];
  const { buildReport, renderTable } = await import('./report.js');

  let bundles: Awaited<ReturnType<typeof import('./bundles.js').measureBundles>> | undefined;
  if (ONLY.has('bundles')) {
    // First, while nothing else runs on the machine.
    progress('bundling the functions with infra/bundling.ts');
    const { measureBundles } = await import('./bundles.js');
    bundles = await measureBundles({ runs: RUNS, progress });
  }
  let dependencies;
  if (args.explain) {
    progress('timing single dependencies bundled alone');
    const { measureDependencies } = await import('./bundles.js');
    dependencies = await measureDependencies({ runs: RUNS });
  }

  let requests, throughput, kms, fairness, latency, busy, hostChanges, sideband;
  const variants: Array<Awaited<ReturnType<typeof import('./throughput.js').measureThroughput>>> = [];
  if (['requests', 'throughput', 'kms', 'fairness', 'latency', 'busy', 'host-changes'].some((s) => ONLY.has(s))) {
    const { startWorld, userFor } = await import('./world.js');
    const syncUsers = Array.from({ length: ACCOUNTS }, (_, i) => `sync${i}`);
    const rawUsers = Array.from({ length: ACCOUNTS }, (_, i) => `raw${i}`);
    // The raw PUTs in batches get calendars of their own: Radicale's PUT costs grow with the collection.
    const rawBatchUsers = Array.from({ length: ACCOUNTS }, (_, i) => `rawb${i}`);
    const kmsUsers = ['kms0', 'kms1', 'kms2'];
    const fairUsers = ['fairbusy', 'fairother'];
    const latencyUsers = Array.from({ length: 10 }, (_, i) => `lat${i}`);
    progress('starting Radicale, the counting proxy and the local stack');
    const { BUSY_CALENDARS, BUSY_COST_USERS } = await import('./busy.js');
    const { HOST_CALENDARS } = await import('./host-changes.js');
    const world = await startWorld(['requests', ...syncUsers, ...rawUsers, ...rawBatchUsers, ...kmsUsers, ...fairUsers, ...latencyUsers, 'busy', ...Object.values(BUSY_COST_USERS), 'host', 'hostlat'], { busy: BUSY_CALENDARS, host: HOST_CALENDARS });
    sideband = world.sideband;
    try {
      if (ONLY.has('requests')) {
        progress('counting CalDAV requests per operation');
        const { measureRequests } = await import('./requests.js');
        requests = await measureRequests(world, { accountId: 'acct-requests', user: 'requests', samples: 5 });
        problems.push(...requests.problems);
      }

      if (ONLY.has('throughput')) {
        // The sync path's limit within one batch: 4 calendar writes in flight at once across its
        // accounts (SYNC_DEFAULTS.writeConcurrency, as functions/handlers/sync.ts runs it).
        const concurrency = SYNC_DEFAULTS.writeConcurrency;
        const attendeeMode = world.stack.config.ATTENDEE_MODE;
        const accounts = syncUsers.map((user, i) => ({ accountId: `acct-sync-${i}`, user }));
        progress(`connecting ${accounts.length} accounts`);
        for (const a of accounts) {
          const res = await world.connect(a.accountId, userFor(a.user));
          if (res.status !== 201) problems.push(`connect ${a.accountId}: ${res.status}`);
        }
        const { measureThroughput } = await import('./throughput.js');
        progress(`syncing ${BOOKINGS} bookings (and as many raw PUTs)`);
        throughput = await measureThroughput(world, {
          label: 'tp',
          accounts,
          rawUsers,
          rawBatchUsers,
          bookings: BOOKINGS,
          batchSize: BATCH_SIZE,
          concurrency,
          rounds: Math.max(1, Math.round(BOOKINGS / 50)),
          attendeeMode,
        });
        problems.push(...throughput.problems);
        if (LATENCY_MS > 0) {
          // The same at a distance, as iCloud is: with a server far away, what counts is how
          // many requests the sync path keeps in flight. Both layouts: many accounts per batch,
          // and a burst of one account's bookings.
          const n = Math.min(BOOKINGS, 100);
          for (const layout of [accounts, accounts.slice(0, 1)]) {
            progress(`${n} bookings of ${layout.length} account(s) with ${LATENCY_MS} ms added per CalDAV request`);
            const v = await measureThroughput(world, {
              label: `lat${layout.length}`,
              accounts: layout,
              rawUsers: rawUsers.slice(0, layout.length),
              rawBatchUsers: rawBatchUsers.slice(0, layout.length),
              bookings: n,
              batchSize: BATCH_SIZE,
              concurrency,
              rounds: 2,
              latencyMs: LATENCY_MS,
              attendeeMode,
            });
            problems.push(...v.problems);
            variants.push(v);
          }
        }
      }

      if (ONLY.has('kms')) {
        progress('counting Decrypt calls per account');
        const ids = kmsUsers.map((u) => `acct-${u}`);
        for (const [i, id] of ids.entries()) {
          const res = await world.connect(id, userFor(kmsUsers[i]!));
          if (res.status !== 201) problems.push(`connect ${id}: ${res.status}`);
        }
        const { measureKmsDecrypts } = await import('./kms.js');
        kms = await measureKmsDecrypts(world, { accountIds: ids, bookingsPerAccount: 30, batchSize: BATCH_SIZE });
        problems.push(...kms.problems);
      }

      if (ONLY.has('fairness')) {
        progress(`fairness: ${BACKLOG} changes of one account on the FIFO queue (2 consumers), then another account's booking`);
        const { measureFairness } = await import('./fairness.js');
        fairness = await measureFairness(world, { backlog: BACKLOG, samples: 3, consumers: 2, backlogUser: fairUsers[0]!, otherUser: fairUsers[1]! });
        problems.push(...fairness.problems);
      }

      if (ONLY.has('latency')) {
        progress('latency: 5 bookings/s over 10 accounts for 20 s through the FIFO queue (2 consumers, the sweeper on)');
        const { measureLatency } = await import('./latency.js');
        latency = await measureLatency(world, { users: latencyUsers, perSecond: 5, bookings: 100, consumers: 2 });
        problems.push(...latency.problems);
      }

      if (ONLY.has('busy')) {
        progress('busy times: requests of cold, warm and changed reads, warm read time, cost of old series');
        const { measureBusy } = await import('./busy.js');
        busy = await measureBusy(world, { accountId: 'acct-busy', user: 'busy', eventsPerCalendar: 40, samples: 40 });
        problems.push(...busy.problems);
      }
      if (ONLY.has('host-changes')) {
        progress('host-change detection: requests per check (nothing changed, one event changed) and detection latency');
        const { measureHostChanges } = await import('./host-changes.js');
        hostChanges = await measureHostChanges(world, { user: 'host', latencyUser: 'hostlat', bookings: 50, samples: 3, intervalSeconds: 2 });
        problems.push(...hostChanges.problems);
      }
    } finally {
      await world.stop();
    }
  }

  const report = buildReport({
    requests,
    throughput,
    variants,
    bundles,
    kms,
    fairness,
    latency,
    busy,
    hostChanges,
    environment: {
      date: new Date().toISOString().slice(0, 10),
      node: process.version.slice(1),
      radicale: radicaleVersion(),
      cpus: os.availableParallelism?.() ?? os.cpus().length,
      platform: `${process.platform}-${process.arch}`,
    },
    durationMs: performance.now() - started,
    problems: dedupe(problems),
  });
  if (dependencies) report.dependencyInit = dependencies;
  if (sideband) {
    // What the handlers wrote besides their work (metrics go to a sink here, logs to a stream).
    report.handlerOutput = { metricsPublished: sideband.metricsPublished, warnLogLines: sideband.logLines, firstWarnLogLines: sideband.firstLogLines };
  }
  const text = json ? JSON.stringify(report) + '\n' : renderTable(report) + '\n';
  // Flushed before process.exit (pipes are asynchronous on some platforms).
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
  // No figure fails the run; a measurement that went wrong (a rejected write, a failed
  // connect) does, so a broken benchmark is not mistaken for a slow one.
  return problems.length ? 2 : 0;
}

/** The same problem 40 times reads as one line with a count. */
function dedupe(problems: string[]): string[] {
  const counts = new Map<string, number>();
  for (const p of problems) counts.set(p, (counts.get(p) ?? 0) + 1);
  return [...counts].map(([p, n]) => (n > 1 ? `${p} (×${n})` : p));
}

function radicaleVersion(): string {
  const res = spawnSync('/usr/bin/radicale', ['--version'], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : 'unknown';
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    if (String((err as Error)?.message).includes('radicale')) {
      process.stderr.write('Radicale must be installed: apt-get install -y --no-install-recommends radicale (see bench/README.md)\n');
    }
    process.exit(1);
  },
);
