import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dashboardFallback } from '../dashboard/serve.js';
import { ensureTable, localCredentials, startDynalite } from './dynamo.js';
import { startHttpApi } from './http-api.js';
import { localJwt } from './jwt.js';
import { startLocalQueue, startPoller } from './sqs.js';

export interface LocalStackOptions {
  port?: number;
  sqsPort?: number;
  /** Start the poller that feeds the sync handler (default true). */
  poll?: boolean;
  /** Local queue visibility timeout in seconds (default 30). */
  visibilityTimeout?: number;
  dataDir?: string;
  /** Keep DynamoDB data in the data folder (default) or in memory (tests). */
  persist?: boolean;
  caldavServerUrl?: string;
}

export const TABLE_NAME = 'apple-calendar-connector';

/**
 * The whole connector on one machine, no AWS account: embedded DynamoDB (dynalite), a local
 * AES-256-GCM key instead of KMS, the HTTP API with local JWT checks, calling the same
 * handlers the Lambdas run.
 */
export async function startLocalStack(opts: LocalStackOptions = {}) {
  const dataDir = resolve(opts.dataDir ?? process.env.LOCAL_DATA_DIR ?? '.local');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dynamo = await startDynalite({ path: opts.persist === false ? undefined : join(dataDir, 'dynamodb') });
  await ensureTable(dynamo.endpoint, TABLE_NAME);
  const queue = await startLocalQueue({ port: opts.sqsPort ?? (opts.port === 0 ? 0 : 9324), visibilityTimeout: opts.visibilityTimeout });

  // The handlers read their configuration once, at import: set it first.
  Object.assign(process.env, {
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    CIPHER: 'local',
    LOCAL_KEY_FILE: join(dataDir, 'credentials-key'),
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? localCredentials.secretAccessKey,
    SQS_ENDPOINT: queue.endpoint,
    QUEUE_URL: queue.queueUrl,
    DLQ_URL: queue.dlqUrl,
    ...(opts.caldavServerUrl ? { CALDAV_SERVER_URL: opts.caldavServerUrl } : {}),
  });
  const [connect, details, disconnect, sync] = await Promise.all([
    import('../functions/connect.js'),
    import('../functions/details.js'),
    import('../functions/disconnect.js'),
    import('../functions/sync.js'),
  ]);
  const [busy, busyInternal, chooseCalendars] = await Promise.all([
    import('../functions/busy.js'),
    import('../functions/busy-internal.js'),
    import('../functions/choose-calendars.js'),
  ]);
  const poller = opts.poll === false ? undefined : startPoller({ client: queue.client, queueUrl: queue.queueUrl, handler: sync.handler });

  const jwt = localJwt(dataDir);
  const route = '/integrations/apple-calendar';
  const api = await startHttpApi({
    port: opts.port ?? 3000,
    jwt,
    routes: {
      [`POST ${route}`]: connect.handler,
      [`GET ${route}`]: details.handler,
      [`DELETE ${route}`]: disconnect.handler,
      // Busy times: the dashboard's route, the calendar choice, and the booking service's route
      // (a service token from `npm run --silent token -- --service` stands in for IAM).
      [`GET ${route}/busy`]: busy.handler,
      [`PATCH ${route}`]: chooseCalendars.handler,
      ['GET /internal/accounts/{accountId}/apple-calendar/busy']: busyInternal.handler as typeof busy.handler,
    },
    // The dashboard page at `/`, and LOCAL ONLY `GET /local/token?user=<id>` (signed with the local key).
    fallback: dashboardFallback({ localToken: (userId) => jwt.sign(userId) }),
  });

  return {
    url: api.url,
    dataDir,
    dynamoEndpoint: dynamo.endpoint,
    sqsEndpoint: queue.endpoint,
    queueUrl: queue.queueUrl,
    dlqUrl: queue.dlqUrl,
    sqs: queue.client,
    poller,
    syncHandler: sync.handler,
    tableName: TABLE_NAME,
    token: (userId: string) => jwt.sign(userId),
    serviceToken: () => jwt.signService(),
    async stop() {
      await api.stop();
      await poller?.stop();
      await queue.stop();
      await dynamo.stop();
    },
  };
}
