// The benchmark's world: a real Radicale on 127.0.0.1, the test proxy in front of it in a
// process of its own (it logs every request the server receives), and the local stack
// (dynalite, fauxqs, the HTTP API with local JWTs, the real handlers) configured to use the
// proxy as its CalDAV server.
// Instrumentation only observes from outside: a timing wrapper around globalThis.fetch
// (installed before the handlers are imported, so their CalDAV client picks it up) and an AWS
// SDK middleware on the handlers' DynamoDB client.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack.js';
import { removeOnExit } from '../test/support/process.js';
import { startRadicale, type RadicaleServer } from '../test/support/radicale.js';
import { startRemoteProxy, type RemoteProxy } from './proxy-process.js';

export const PASSWORD = 'abcd-efgh-ijkl-mnop';

export interface Timing {
  method: string;
  url: string;
  ms: number;
}

export interface DynamoStats {
  calls: number;
  ms: number;
  byCommand: Map<string, number>;
}

export type Stack = Awaited<ReturnType<typeof startLocalStack>>;

export interface World {
  radicale: RadicaleServer;
  proxy: RemoteProxy;
  stack: Stack;
  /** Client-side durations of every request to the proxy (CalDAV) since the last reset. */
  caldavTimings: Timing[];
  dynamo: DynamoStats;
  resetStats(): Promise<void>;
  /** User-mode + system CPU seconds Radicale has used so far (Linux /proc), if found. */
  radicaleCpuSeconds(): number | undefined;
  /** Connects an account through the HTTP API; returns the status and the CalDAV requests it made. */
  connect(accountId: string, appleId: string): Promise<{ status: number; calendarUrl?: string; requests: string[] }>;
  stop(): Promise<void>;
}

export const userFor = (name: string) => `${name}@example.com`;

/** Starts everything; `users` are short names, each a Radicale user `<name>@example.com` with PASSWORD and one `home` calendar. */
export async function startWorld(users: string[], calendars: Record<string, string[]> = {}): Promise<World> {
  const caldavTimings: Timing[] = [];
  const dynamo: DynamoStats = { calls: 0, ms: 0, byCommand: new Map() };
  let proxyUrl = '\0';

  // Before the handlers are imported: their CalendarObjects binds globalThis.fetch at construction.
  const baseFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(proxyUrl)) return baseFetch(input, init);
    const t0 = performance.now();
    try {
      return await baseFetch(input, init);
    } finally {
      caldavTimings.push({ method: init?.method ?? 'GET', url, ms: performance.now() - t0 });
    }
  };

  const dataDir = mkdtempSync(join(tmpdir(), 'bench-stack-'));
  const forgetDataDir = removeOnExit(dataDir); // also on Ctrl-C
  const radicale = await startRadicale({
    users: Object.fromEntries(users.map((u) => [userFor(u), PASSWORD])),
    // Users named in `calendars` get these calendars (slug = name) instead of one `home`.
    calendars: Object.fromEntries(Object.entries(calendars).map(([u, slugs]) => [userFor(u), slugs.map((slug) => ({ slug, displayName: slug }))])),
  });
  const proxy = await startRemoteProxy(radicale.url);
  proxyUrl = proxy.url;
  const stack = await startLocalStack({ port: 0, sqsPort: 0, persist: false, poll: false, dataDir, caldavServerUrl: proxy.url });

  // Same module instance as the handlers' (same file URL): time every DynamoDB call they make.
  const { table } = await import('../functions/lib/runtime.js');
  table.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const t0 = performance.now();
      try {
        return await next(args);
      } finally {
        dynamo.calls += 1;
        dynamo.ms += performance.now() - t0;
        const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        dynamo.byCommand.set(name, (dynamo.byCommand.get(name) ?? 0) + 1);
      }
    },
    { step: 'initialize', name: 'benchDynamoTiming' },
  );

  const radicalePid = findRadicalePid(radicale.dir);

  return {
    radicale,
    proxy,
    stack,
    caldavTimings,
    dynamo,
    async resetStats() {
      await proxy.reset();
      caldavTimings.length = 0;
      dynamo.calls = 0;
      dynamo.ms = 0;
      dynamo.byCommand.clear();
    },
    radicaleCpuSeconds: () => (radicalePid === undefined ? undefined : processCpuSeconds(radicalePid)),
    async connect(accountId, appleId) {
      await proxy.reset();
      const res = await baseFetch(`${stack.url}/integrations/apple-calendar`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await stack.token(accountId)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ appleId, appSpecificPassword: PASSWORD }),
      });
      const body = (await res.json()) as { calendar?: { url: string } };
      return { status: res.status, calendarUrl: body.calendar?.url, requests: (await proxy.requests()).map((r) => `${r.method} ${r.status}`) };
    },
    async stop() {
      globalThis.fetch = baseFetch;
      await stack.stop().catch(() => undefined);
      await proxy.stop().catch(() => undefined);
      await radicale.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
      forgetDataDir();
    },
  };
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
