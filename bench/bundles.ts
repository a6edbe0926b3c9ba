// Bundle size and cold import time of each Lambda function, bundled exactly as the CDK stack
// bundles it: the esbuild options come from infra/bundling.ts, the one place that says how.
// initMs is the median time to `import()` the bundle in a fresh Node process (this Node: 22,
// the functions' runtime) with the function's environment as the stack sets it (CIPHER=kms, a
// placeholder KMS key id for connect and sync: the SDK builds its KMS client without any
// network call), and no NODE_OPTIONS, as deployed. initMsEnableSourceMaps is the same with
// NODE_OPTIONS=--enable-source-maps, which the stack set until the figures showed its cost.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { removeOnExit } from '../test/servers/process.js';
import { entryPath, esbuildOptions, FUNCTION_ENTRIES, PROJECT_ROOT, type FunctionName } from '../infra/bundling.js';

const run = promisify(execFile);

export interface BundleResult {
  bytes: number;
  /** Median import time, fresh process, as deployed (no NODE_OPTIONS). */
  initMs: number;
  /** The same with NODE_OPTIONS=--enable-source-maps: what parsing the source map at init would cost. */
  initMsEnableSourceMaps: number;
  /** Fastest run as deployed: less sensitive to other load on the machine than the median. */
  initMsMin: number;
  mapBytes: number;
  /** Largest contributors to the bundle, by bytes in the output. */
  largest: Array<{ module: string; bytes: number }>;
  runs: number;
}

export const FUNCTIONS = Object.keys(FUNCTION_ENTRIES) as FunctionName[];

/** The environment each function gets in the stack (infra/constructs; values are placeholders). */
function lambdaEnv(name: FunctionName, withSourceMaps: boolean): NodeJS.ProcessEnv {
  const queueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/booking-events.fifo';
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: `bench-${name}`,
    POWERTOOLS_SERVICE_NAME: `apple-calendar-${name}`,
    LOG_LEVEL: 'INFO',
    TABLE_NAME: 'bench-table',
    CIPHER: 'kms',
    ...(['connect', 'sync', 'busy', 'busy-internal'].includes(name)
      ? { KMS_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000', CALDAV_SERVER_URL: 'https://caldav.icloud.com' }
      : {}),
    ...(name === 'connect' ? { APPLE_ID_MAC_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/11111111-1111-1111-1111-111111111111' } : {}),
    ...(name === 'connect' || name === 'sync' || name === 'sweep' ? { QUEUE_URL: queueUrl, SWEEP_INTERVAL_SECONDS: '60' } : {}),
    ...(name === 'host-checks' ? { QUEUE_URL: queueUrl, HOST_CHANGES_INTERVAL_SECONDS: '300' } : {}),
    ...(name === 'sync'
      ? {
          DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/booking-events-dlq.fifo',
          ATTENDEE_MODE: 'attendees',
          RETRY_BASE_SECONDS: '30',
          MAX_RECEIVE_COUNT: '10',
          HOST_CHANGES_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/calendar-changes.fifo',
          HOST_CHANGES_INTERVAL_SECONDS: '300',
        }
      : {}),
    ...(withSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
  };
}

const CHILD = [
  'const t0 = performance.now();',
  'await import(process.argv[1]);',
  'const ms = performance.now() - t0;',
  'process.stdout.write("\\n" + JSON.stringify({ benchInitMs: ms }) + "\\n");',
].join(' ');

async function importMs(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(file).href], { env, timeout: 30_000 });
  const line = stdout.trim().split('\n').pop() ?? '';
  const ms = (JSON.parse(line) as { benchInitMs?: number }).benchInitMs;
  if (typeof ms !== 'number') throw new Error(`no timing from the child: ${stdout.slice(-200)}`);
  return ms;
}

export async function measureBundles(opts: { runs: number; progress?: (msg: string) => void }): Promise<Record<FunctionName, BundleResult>> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  const forget = removeOnExit(outDir);
  try {
    const built = await Promise.all(
      FUNCTIONS.map(async (name) => {
        const outfile = join(outDir, name, 'index.mjs');
        const result = await esbuild.build({ ...esbuildOptions, entryPoints: [entryPath(name)], outfile, absWorkingDir: PROJECT_ROOT, metafile: true, logLevel: 'error' });
        const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint);
        const byModule = new Map<string, number>();
        for (const [file, input] of Object.entries(output?.inputs ?? {})) {
          const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? `(ours) ${file.split('/')[0]}/`;
          byModule.set(pkg, (byModule.get(pkg) ?? 0) + input.bytesInOutput);
        }
        const largest = [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([module, bytes]) => ({ module, bytes }));
        return { name, outfile, bytes: statSync(outfile).size, mapBytes: statSync(`${outfile}.map`).size, largest };
      }),
    );
    opts.progress?.(`bundled ${FUNCTIONS.length} functions; timing cold imports (${opts.runs} runs each, two variants)`);

    // Interleave functions and variants so drift on the machine spreads over all of them.
    const times = new Map<string, number[]>();
    for (let i = 0; i < opts.runs; i++) {
      for (const b of built) {
        for (const maps of [true, false]) {
          const key = `${b.name}:${maps}`;
          times.set(key, [...(times.get(key) ?? []), await importMs(b.outfile, lambdaEnv(b.name, maps))]);
        }
      }
    }
    return Object.fromEntries(
      built.map((b) => [
        b.name,
        {
          bytes: b.bytes,
          initMs: round1(median(times.get(`${b.name}:false`)!)),
          initMsEnableSourceMaps: round1(median(times.get(`${b.name}:true`)!)),
          initMsMin: round1(Math.min(...times.get(`${b.name}:false`)!)),
          mapBytes: b.mapBytes,
          largest: b.largest,
          runs: opts.runs,
        },
      ]),
    ) as Record<FunctionName, BundleResult>;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    forget();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

/** What single dependencies cost at import, each bundled alone with the same options. */
export const DEPENDENCY_PROBES: Record<string, string> = {
  '(empty module)': 'export const x = 1;',
  'zod (classic API)': "import { z } from 'zod'; export const s = z.object({ a: z.string() });",
  'zod/mini': "import * as z from 'zod/mini'; export const s = z.object({ a: z.string() });",
  'AWS SDK: DynamoDB + lib-dynamodb': "import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'; export const c = DynamoDBDocumentClient.from(new DynamoDBClient({}));",
  'AWS SDK: DynamoDB + KMS': "import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; import { KMSClient } from '@aws-sdk/client-kms'; export const c = [new DynamoDBClient({}), new KMSClient({})];",
  tsdav: "export * from 'tsdav';",
  'ical-generator': "import ical from 'ical-generator'; export const x = ical;",
  'Powertools Logger': "import { Logger } from '@aws-lambda-powertools/logger'; export const l = new Logger();",
  '@middy/core': "import middy from '@middy/core'; export const m = middy;",
  // Not a dependency: what the sync handler would pay at init for Powertools Metrics instead of
  // its own EMF line (npm install --no-save @aws-lambda-powertools/metrics to measure it).
  'Powertools Metrics': "import { Metrics } from '@aws-lambda-powertools/metrics'; export const m = new Metrics({ namespace: 'AppleCalendarConnector', serviceName: 'sync' });",
  'sync function': "export { handler } from './functions/sync.ts';",
  'sync function + Powertools Metrics':
    "export { handler } from './functions/sync.ts'; import { Metrics } from '@aws-lambda-powertools/metrics'; export const m = new Metrics({ namespace: 'AppleCalendarConnector', serviceName: 'sync' }); m.addMetric('SyncOk', 'Count', 0);",
};

export async function measureDependencies(opts: { runs: number }): Promise<Record<string, { bytes: number; initMs: number } | { missing: string }>> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-deps-'));
  const forget = removeOnExit(outDir);
  try {
    const missing: Record<string, { missing: string }> = {};
    const probes = await Promise.all(
      Object.entries(DEPENDENCY_PROBES).map(async ([label, contents], i) => {
        const outfile = join(outDir, `probe${i}`, 'index.mjs');
        try {
          await esbuild.build({
            ...esbuildOptions,
            sourcemap: false,
            stdin: { contents, resolveDir: PROJECT_ROOT, sourcefile: `probe${i}.ts`, loader: 'ts' },
            outfile,
            absWorkingDir: PROJECT_ROOT,
            logLevel: 'silent',
          });
        } catch (err) {
          // A probe of a package that is not installed (Powertools Metrics is not a dependency).
          missing[label] = { missing: (err as esbuild.BuildFailure).errors?.[0]?.text ?? String(err) };
          return undefined;
        }
        return { label, outfile };
      }),
    );
    const built = probes.filter((p) => p !== undefined);
    const env = { ...lambdaEnv('sync', false), POWERTOOLS_METRICS_NAMESPACE: 'AppleCalendarConnector' };
    const times = new Map<string, number[]>();
    for (let i = 0; i < opts.runs; i++) {
      for (const b of built) times.set(b.label, [...(times.get(b.label) ?? []), await importMs(b.outfile, env)]);
    }
    return {
      ...Object.fromEntries(built.map((b) => [b.label, { bytes: statSync(b.outfile).size, initMs: round1(median(times.get(b.label)!)) }])),
      ...missing,
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    forget();
  }
}
