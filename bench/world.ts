// The benchmark's world: a real Radicale on 127.0.0.1, the test proxy in front of it in a
// process of its own (it logs every request the server receives), and the local stack
// (dynalite, fauxqs, the HTTP API with local JWTs, the real handlers) configured to use the
// proxy as its CalDAV server.
// Instrumentation is handed in, nothing global is patched: the stack's handlers get a timing
// `fetch` for CalDAV, a log stream, a metrics sink, and their DynamoDB client gets an AWS SDK
// middleware that times every call.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { MetricsSink } from '../functions/lib/metrics.js';
import { platformFrom, type Platform } from '../functions/lib/platform.js';
import { startLocalStack, type LocalStackOptions } from '../local/stack.js';
import { createLogger } from '../shared/logger.js';
import type { Table } from '../shared/store/table.js';
import { removeOnExit } from '../test/servers/process.js';
import { startRadicale, type RadicaleServer } from '../test/servers/radicale.js';
import { startRemoteDynamo } from './dynamo-process.js';
import { startRemoteProxy, type RemoteProxy } from './proxy-process.js';

export const PASSWORD = 'abcd-efgh-ijkl-mnop';

export interface Timing {
  method: string;
  url: string;
  status: number;
  ms: number;
  /** performance.now() when the answer came back. */
  at: number;
}

export interface DynamoStats {
  calls: number;
  ms: number;
  byCommand: Map<string, number>;
}

export type Stack = Awaited<ReturnType<typeof startLocalStack>>;

/** What the handlers wrote besides their work: logs at WARN and above, metric publications. */
export interface Sideband {
  /** Log lines written (level WARN and above). */
  logLines: number;
  /** The first few of them, for the report's problems. */
  firstLogLines: string[];
  /** Metric sets published (one per sync batch, one per sweep). */
  metricsPublished: number;
}

export interface World {
  radicale: RadicaleServer;
  proxy: RemoteProxy;
  stack: Stack;
  /** The fetch the handlers use for CalDAV: times every request. Raw PUTs go through it too. */
  fetch: typeof fetch;
  /** Client-side durations of every CalDAV request since the last reset. */
  caldavTimings: Timing[];
  /** Called for every finished CalDAV request (the fairness run watches for one PUT). */
  onCaldav: Set<(t: Timing) => void>;
  dynamo: DynamoStats;
  sideband: Sideband;
  resetStats(): Promise<void>;
  /** User-mode + system CPU seconds Radicale has used so far (Linux /proc), if found. */
  radicaleCpuSeconds(): number | undefined;
  /** Connects an account through the HTTP API of `stack` (default: the main one); returns the status and the CalDAV requests it made. */
  connect(accountId: string, appleId: string, stack?: Stack): Promise<{ status: number; calendarUrl?: string; requests: string[] }>;
  /**
   * Another local stack on the same Radicale and proxy, with the same instrumentation (the
   * fairness run needs one with its real consumers). Stopped with the world, or earlier.
   */
  startStack(opts: Partial<LocalStackOptions>): Promise<Stack>;
  stopStack(stack: Stack): Promise<void>;
  /**
   * A Platform on the main stack's config, table (timed), queue client, CalDAV fetch (timed),
   * log and metrics: for handlers the bench builds itself (a counting cipher, a fake clock).
   */
  platform(overrides?: Partial<Platform>): Platform;
  stop(): Promise<void>;
}

export const userFor = (name: string) => `${name}@example.com`;

/** Starts everything; `users` are short names, each a Radicale user `<name>@example.com` with PASSWORD and one `home` calendar. */
export async function startWorld(users: string[], calendars: Record<string, string[]> = {}): Promise<World> {
  const caldavTimings: Timing[] = [];
  const onCaldav = new Set<(t: Timing) => void>();
  const dynamo: DynamoStats = { calls: 0, ms: 0, byCommand: new Map() };
  const sideband: Sideband = { logLines: 0, firstLogLines: [], metricsPublished: 0 };

  const timedFetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await fetch(input, init);
      status = res.status;
      return res;
    } finally {
      const at = performance.now();
      const t = { method: init?.method ?? 'GET', url, status, ms: at - t0, at };
      caldavTimings.push(t);
      for (const fn of onCaldav) fn(t);
    }
  };
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      sideband.logLines += 1;
      if (sideband.firstLogLines.length < 5) sideband.firstLogLines.push(chunk.toString('utf8').trim().slice(0, 300));
      done();
    },
  });
  const metrics: MetricsSink = { publish: () => void (sideband.metricsPublished += 1) };
  const log = createLogger({ serviceName: 'apple-calendar-bench', level: 'WARN', stream: logStream });

  const dataDirs: string[] = [];
  const stacks = new Set<Stack>();
  const forgetDataDirs: Array<() => void> = [];
  const radicale = await startRadicale({
    users: Object.fromEntries(users.map((u) => [userFor(u), PASSWORD])),
    // Users named in `calendars` get these calendars (slug = name) instead of one `home`.
    calendars: Object.fromEntries(Object.entries(calendars).map(([u, slugs]) => [userFor(u), slugs.map((slug) => ({ slug, displayName: slug }))])),
  });
  const proxy = await startRemoteProxy(radicale.url);

  const startStack = async (opts: Partial<LocalStackOptions>): Promise<Stack> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-stack-'));
    dataDirs.push(dataDir);
    forgetDataDirs.push(removeOnExit(dataDir)); // also on Ctrl-C
    const stack = await startLocalStack({
      port: 0,
      sqsPort: 0,
      persist: false,
      poll: false,
      dataDir,
      caldavServerUrl: proxy.url,
      fetch: timedFetch,
      logLevel: 'WARN',
      logStream,
      metrics,
      // Every busy read revalidates: the figures are those of a read past the cache-only window.
      busyRevalidateSeconds: 0,
      // The sync path as deployed (SQS keeps a message while it is worked on), not the local
      // stack's record-first one for its in-process queue.
      recordFirst: false,
      ...opts,
    });
    stacks.add(stack);
    timeDynamo(stack.table, dynamo);
    return stack;
  };
  // The main stack's DynamoDB in a process of its own, as DynamoDB is a service to Lambda.
  const remoteDynamo = await startRemoteDynamo();
  const stack = await startStack({ dynamoEndpoint: remoteDynamo.endpoint });
  const radicalePid = findRadicalePid(radicale.dir);

  return {
    radicale,
    proxy,
    stack,
    fetch: timedFetch,
    caldavTimings,
    onCaldav,
    dynamo,
    sideband,
    async resetStats() {
      await proxy.reset();
      caldavTimings.length = 0;
      dynamo.calls = 0;
      dynamo.ms = 0;
      dynamo.byCommand.clear();
    },
    radicaleCpuSeconds: () => (radicalePid === undefined ? undefined : processCpuSeconds(radicalePid)),
    async connect(accountId, appleId, on = stack) {
      await proxy.reset();
      const res = await fetch(`${on.url}/integrations/apple-calendar`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await on.token(accountId)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ appleId, appSpecificPassword: PASSWORD }),
      });
      const body = (await res.json()) as { calendar?: { url: string } };
      return { status: res.status, calendarUrl: body.calendar?.url, requests: (await proxy.requests()).map((r) => `${r.method} ${r.status}`) };
    },
    startStack,
    async stopStack(s) {
      if (stacks.delete(s)) await s.stop();
    },
    platform: (overrides = {}) => platformFrom(stack.config, { table: stack.table, sqs: stack.sqs, log, fetch: timedFetch, metrics, ...overrides }),
    async stop() {
      for (const s of [...stacks].reverse()) await s.stop().catch(() => undefined);
      stacks.clear();
      await proxy.stop().catch(() => undefined);
      await remoteDynamo.stop().catch(() => undefined);
      await radicale.stop().catch(() => undefined);
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
      for (const forget of forgetDataDirs) forget();
    },
  };
}

/** Times every DynamoDB call made through this table's client (an AWS SDK middleware; the handlers' own client). */
function timeDynamo(table: Table, into: DynamoStats): void {
  table.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const t0 = performance.now();
      try {
        return await next(args);
      } finally {
        into.calls += 1;
        into.ms += performance.now() - t0;
        const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        into.byCommand.set(name, (into.byCommand.get(name) ?? 0) + 1);
      }
    },
    { step: 'initialize', name: 'benchDynamoTiming' },
  );
}

/** The Radicale child started with this folder's config (Linux only; undefined elsewhere). */
function findRadicalePid(dir: string): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (cmdline.includes(join(dir, 'config')) && cmdline.some((a) => a.includes('radicale'))) return Number(entry);
      } catch {
        // gone or not ours
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of proc(5)), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
