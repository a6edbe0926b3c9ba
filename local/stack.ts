import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { dashboardFallback } from '../dashboard/serve.js';
import { createBusyHandler, createBusyInternalHandler } from '../functions/handlers/busy.js';
import { createChooseCalendarsHandler } from '../functions/handlers/choose-calendars.js';
import { createConnectHandler } from '../functions/handlers/connect.js';
import { createDetailsHandler } from '../functions/handlers/details.js';
import { createDisconnectHandler } from '../functions/handlers/disconnect.js';
import { createHostChecksHandler } from '../functions/handlers/host-checks.js';
import { createSweepHandler } from '../functions/handlers/sweep.js';
import { createSyncHandler } from '../functions/handlers/sync.js';
import type { MetricsSink } from '../functions/lib/metrics.js';
import { platformFrom } from '../functions/lib/platform.js';
import { ICLOUD_CALDAV_URL, readConfig, SYNC_DEFAULTS } from '../shared/config.js';
import { createLogger, type Log } from '../shared/logger.js';
import { createTable } from '../shared/store/table.js';
import { ensureTable, localCredentials, startDynalite } from './dynamo.js';
import { startHttpApi } from './http-api.js';
import { localJwt } from './jwt.js';
import { startLocalQueue, startPoller } from './sqs.js';

export interface LocalStackOptions {
  port?: number;
  sqsPort?: number;
  dataDir?: string;
  /** Keep DynamoDB data in the data folder (default) or in memory (tests). */
  persist?: boolean;
  /** A DynamoDB endpoint to use instead of starting dynalite here (the bench runs it in a process of its own); not stopped with the stack. */
  dynamoEndpoint?: string;
  /** Start the consumers that feed the sync handler (default true). */
  poll?: boolean;
  /** Concurrent sync consumers, honouring message groups (default 2, like the cloud). */
  consumers?: number;
  /** Run the sweeper at start and every `sweepIntervalSeconds` (default: when polling). */
  sweep?: boolean;
  sweepIntervalSeconds?: number;
  /** Schedule host-change checks every `hostChangesIntervalSeconds` (default: when polling). */
  hostChecks?: boolean;
  hostChangesIntervalSeconds?: number;
  /** HOST_CHANGES_READ_LAG_SECONDS (default 60). */
  hostChangesReadLagSeconds?: number;
  retryBaseSeconds?: number;
  /** Each sync consumer's time per batch, in seconds, as the Lambda timeout in the cloud (default 60). */
  syncBudgetSeconds?: number;
  /** Local queue visibility timeout in seconds (default 6 × the sync budget, as in the cloud; never less than the budget). */
  visibilityTimeout?: number;
  maxReceiveCount?: number;
  caldavServerUrl?: string;
  /** Hosts that may receive the credentials (CALDAV_ALLOWED_HOSTS; default: the server's host). */
  caldavAllowedHosts?: string;
  caldavTimeoutMs?: number;
  /** Busy reads answer from a confirmation this recent without asking the server (default 15). */
  busyRevalidateSeconds?: number;
  region?: string;
  /** The fetch CalDAV requests go through (tests and the bench count or delay them). */
  fetch?: typeof fetch;
  /** Where the handlers' JSON log lines go (default stdout). */
  logStream?: Writable;
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  metrics?: MetricsSink;
  /**
   * Record every booking change before its first calendar request (default true). This stack's
   * queue lives in its process: a message being worked on dies with it, and only the record
   * brings the change back. SQS keeps it, so the Lambda records a new change with its first
   * attempt's outcome instead (one table write, not two); `false` syncs as deployed.
   */
  recordFirst?: boolean;
  /** Jitter source for retry backoff (tests make it deterministic). */
  random?: () => number;
}

export const TABLE_NAME = 'apple-calendar-connector';

/**
 * The whole connector on one machine, no AWS account: embedded DynamoDB (dynalite), a FIFO
 * queue (fauxqs) with its consumers, the sweeper on a timer, a local AES-256-GCM key instead
 * of KMS, the HTTP API with local JWT checks — calling the same handler factories the
 * Lambdas use, with this stack's own clients. Several stacks can run in one process.
 */
export async function startLocalStack(opts: LocalStackOptions = {}) {
  const dataDir = resolve(opts.dataDir ?? '.local');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const region = opts.region ?? 'us-east-1';
  const dynamo = opts.dynamoEndpoint
    ? { endpoint: opts.dynamoEndpoint, stop: async () => undefined }
    : await startDynalite({ path: opts.persist === false ? undefined : join(dataDir, 'dynamodb') });
  await ensureTable(dynamo.endpoint, TABLE_NAME, region);
  const maxReceiveCount = opts.maxReceiveCount ?? SYNC_DEFAULTS.maxReceiveCount;
  // A batch still being worked on must never be handed to the other consumer (two writers of
  // one account): the visibility timeout is at least the budget the handler stops by.
  const syncBudgetSeconds = opts.syncBudgetSeconds ?? SYNC_DEFAULTS.syncTimeoutSeconds;
  const visibilityTimeout = opts.visibilityTimeout ?? syncBudgetSeconds * 6;
  if (visibilityTimeout < syncBudgetSeconds) throw new Error('visibilityTimeout must be at least syncBudgetSeconds');
  const queue = await startLocalQueue({ port: opts.sqsPort ?? (opts.port === 0 ? 0 : 9324), visibilityTimeout, maxReceiveCount, region });
  const sweepIntervalSeconds = opts.sweepIntervalSeconds ?? 60;
  const hostChangesIntervalSeconds = opts.hostChangesIntervalSeconds ?? 60;

  const config = readConfig({
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    CIPHER: 'local',
    LOCAL_KEY_FILE: join(dataDir, 'credentials-key'),
    SQS_ENDPOINT: queue.endpoint,
    QUEUE_URL: queue.queueUrl,
    DLQ_URL: queue.dlqUrl,
    HOST_CHANGES_QUEUE_URL: queue.changesQueueUrl,
    HOST_CHANGES_INTERVAL_SECONDS: String(hostChangesIntervalSeconds),
    HOST_CHANGES_READ_LAG_SECONDS: opts.hostChangesReadLagSeconds === undefined ? undefined : String(opts.hostChangesReadLagSeconds),
    CALDAV_SERVER_URL: opts.caldavServerUrl ?? ICLOUD_CALDAV_URL,
    CALDAV_ALLOWED_HOSTS: opts.caldavAllowedHosts,
    CALDAV_TIMEOUT_MS: String(opts.caldavTimeoutMs ?? 10_000),
    RETRY_BASE_SECONDS: String(opts.retryBaseSeconds ?? SYNC_DEFAULTS.retryBaseSeconds),
    SWEEP_INTERVAL_SECONDS: String(sweepIntervalSeconds),
    MAX_RECEIVE_COUNT: String(maxReceiveCount),
    BUSY_REVALIDATE_SECONDS: opts.busyRevalidateSeconds === undefined ? undefined : String(opts.busyRevalidateSeconds),
    AWS_REGION: region,
    POWERTOOLS_SERVICE_NAME: 'apple-calendar-local',
  });
  const table = createTable(TABLE_NAME, { endpoint: dynamo.endpoint, region, credentials: localCredentials });
  const platform = platformFrom(config, {
    table,
    sqs: queue.client,
    log: createLogger({ serviceName: config.POWERTOOLS_SERVICE_NAME, level: opts.logLevel, stream: opts.logStream }),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    // Metrics are CloudWatch's business: locally they go nowhere unless a sink is given.
    metrics: opts.metrics ?? { publish: () => undefined },
  });
  const handlers = {
    connect: createConnectHandler(platform),
    details: createDetailsHandler(platform),
    disconnect: createDisconnectHandler(platform),
    sync: createSyncHandler(platform, { random: opts.random, recordFirst: opts.recordFirst ?? true }),
    sweep: createSweepHandler(platform),
    hostChecks: createHostChecksHandler(platform),
    busy: createBusyHandler(platform),
    busyInternal: createBusyInternalHandler(platform),
    chooseCalendars: createChooseCalendarsHandler(platform),
  };

  const consumers =
    opts.poll === false
      ? []
      : Array.from({ length: opts.consumers ?? 2 }, () => startPoller({ client: queue.client, queueUrl: queue.queueUrl, handler: handlers.sync, budgetMs: syncBudgetSeconds * 1000, region, log: platform.log }));
  const sweeper = opts.sweep ?? opts.poll !== false ? startSweeper(handlers.sweep, sweepIntervalSeconds * 1000, platform.log) : undefined;
  const hostCheckTimer = opts.hostChecks ?? opts.poll !== false ? startSweeper(handlers.hostChecks, hostChangesIntervalSeconds * 1000, platform.log, 'host-change scheduler failed') : undefined;

  const jwt = localJwt(dataDir);
  const route = '/integrations/apple-calendar';
  const api = await startHttpApi({
    port: opts.port ?? 3000,
    jwt,
    routes: {
      [`POST ${route}`]: handlers.connect,
      [`GET ${route}`]: handlers.details,
      [`DELETE ${route}`]: handlers.disconnect,
      // Busy times: the dashboard's route, the calendar choice, and the booking service's route
      // (a service token from `npm run --silent token -- --service` stands in for IAM).
      [`GET ${route}/busy`]: handlers.busy,
      [`PATCH ${route}`]: handlers.chooseCalendars,
      ['GET /internal/accounts/{accountId}/apple-calendar/busy']: handlers.busyInternal as typeof handlers.busy,
    },
    // The dashboard page at `/`, and LOCAL ONLY `GET /local/token?user=<id>` (signed with the local key).
    fallback: dashboardFallback({ localToken: (userId) => jwt.sign(userId) }),
    log: platform.log,
  });

  return {
    url: api.url,
    dataDir,
    config,
    table,
    dynamoEndpoint: dynamo.endpoint,
    sqsEndpoint: queue.endpoint,
    queueUrl: queue.queueUrl,
    dlqUrl: queue.dlqUrl,
    /** calendar-changes.fifo: what the booking service would receive. */
    changesQueueUrl: queue.changesQueueUrl,
    sqs: queue.client,
    consumers,
    handlers,
    syncHandler: handlers.sync,
    /** Runs the sweeper once now (tests; the timer runs it too). */
    sweep: handlers.sweep,
    /** Schedules the host-change checks once now (tests; the timer does it too). */
    scheduleHostChecks: handlers.hostChecks,
    tableName: TABLE_NAME,
    token: (userId: string) => jwt.sign(userId),
    serviceToken: () => jwt.signService(),
    async stop() {
      await api.stop();
      await sweeper?.stop();
      await hostCheckTimer?.stop();
      await Promise.all(consumers.map((c) => c.stop()));
      await queue.stop();
      table.doc.destroy();
      await dynamo.stop();
    },
  };
}

export type LocalStack = Awaited<ReturnType<typeof startLocalStack>>;

/** A scheduled job (the sweeper, the host-change scheduler) at start and then every interval; one run at a time; stop waits for the current one. */
function startSweeper(run: () => Promise<unknown>, intervalMs: number, log: Pick<Log, 'error'>, failure = 'sweeper failed') {
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = current.then(run).catch((err) => log.error(failure, { error: (err as Error).message }));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
