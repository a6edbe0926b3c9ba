import * as z from 'zod/mini';
import { ROLE_ARN } from './busy/service-caller.js';
import { defaultAllowedHosts, invalidHostPattern, parseAllowedHosts, type AllowedHosts } from './caldav/trusted-hosts.js';

/**
 * Everything the connector reads from its environment, validated once per process. This is
 * the only module that reads `process.env`; everything else is handed a `Config`.
 * A missing or malformed variable fails fast with its name in the message.
 */

/** The CalDAV server bookings go to unless configured otherwise: iCloud. */
export const ICLOUD_CALDAV_URL = 'https://caldav.icloud.com';

/** How a booking's attendees appear in the calendar event. */
export const ATTENDEE_MODES = ['attendees', 'description'] as const;
export type AttendeeMode = (typeof ATTENDEE_MODES)[number];

/** Sync defaults, shared by the functions, the local stack and the CDK stack. */
export const SYNC_DEFAULTS = {
  /** First retry backoff step (seconds); each further attempt doubles it, with jitter. */
  retryBaseSeconds: 30,
  /**
   * The sweeper runs this often (the cloud's schedule): it re-drives changes whose retry is
   * due, and changes not written this long after they arrived.
   */
  sweepIntervalSeconds: 60,
  /** One sync invocation's time (the Lambda timeout; the local consumers' budget). */
  syncTimeoutSeconds: 60,
  /** Receives of one message before the queue moves it to the dead-letter queue. */
  maxReceiveCount: 10,
  /**
   * Accounts handled at once within a batch (their DynamoDB calls overlap each other's
   * calendar writes; a batch holds at most 10 messages).
   */
  accountConcurrency: 10,
  /** Bookings of one account written at once (a batch of 10 is two rounds of 5). */
  bookingConcurrency: 5,
  /** Calendar writes in flight at once within one invocation, across its accounts (likewise). */
  writeConcurrency: 5,
  /** Host-change detection checks every active connection this often (contract §2b; the cloud's schedule). */
  hostChangesIntervalSeconds: 300,
} as const;

const optionalText = z.optional(z.string().check(z.minLength(1)));
const positiveInt = (fallback: number) =>
  z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n > 0, 'must be a positive whole number')), fallback);
const schema = z.object({
  TABLE_NAME: z.string({ error: 'is required' }).check(z.minLength(1, 'is required')),
  CALDAV_SERVER_URL: z._default(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), ICLOUD_CALDAV_URL),
  /** Comma-separated hosts (`*.` wildcards) that may receive the credentials; see readConfig for the default. */
  CALDAV_ALLOWED_HOSTS: optionalText,
  CALDAV_TIMEOUT_MS: positiveInt(10_000),
  CIPHER: z._default(z.enum(['kms', 'local']), 'kms'),
  KMS_KEY_ID: optionalText,
  /** KMS HMAC key that turns an Apple ID into its rate-limit key (connect only; the local stack derives one). */
  APPLE_ID_MAC_KEY_ID: optionalText,
  LOCAL_KEY_FILE: optionalText,
  QUEUE_URL: optionalText,
  DLQ_URL: optionalText,
  /** calendar-changes.fifo: host changes reported to the booking service (contract §2b). */
  HOST_CHANGES_QUEUE_URL: optionalText,
  HOST_CHANGES_INTERVAL_SECONDS: positiveInt(SYNC_DEFAULTS.hostChangesIntervalSeconds),
  /** An event missing from a listing this soon after the connector wrote it is not yet taken for a deletion (iCloud's read lag). */
  HOST_CHANGES_READ_LAG_SECONDS: z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n >= 0 && n <= 600, 'must be a whole number from 0 to 600')), 60),
  ATTENDEE_MODE: z._default(z.enum(ATTENDEE_MODES), 'attendees'),
  DYNAMODB_ENDPOINT: optionalText,
  SQS_ENDPOINT: optionalText,
  AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
  POWERTOOLS_SERVICE_NAME: z._default(z.string().check(z.minLength(1)), 'apple-calendar-connector'),
  RETRY_BASE_SECONDS: positiveInt(SYNC_DEFAULTS.retryBaseSeconds),
  SWEEP_INTERVAL_SECONDS: positiveInt(SYNC_DEFAULTS.sweepIntervalSeconds),
  MAX_RECEIVE_COUNT: positiveInt(SYNC_DEFAULTS.maxReceiveCount),
  /** Busy reads answer from a confirmation this recent without asking the CalDAV server. */
  /** Comma-separated IAM role ARNs of the booking service: the only IAM callers of the internal busy route. */
  BUSY_READER_ROLE_ARNS: z.optional(z.string()),
  BUSY_REVALIDATE_SECONDS: z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n >= 0 && n <= 60, 'must be a whole number from 0 to 60')), 15),
});

export type Config = Omit<z.infer<typeof schema>, 'CALDAV_ALLOWED_HOSTS' | 'BUSY_READER_ROLE_ARNS'> & {
  /** Always set: the configured list, or the contract's default for CALDAV_SERVER_URL. */
  CALDAV_ALLOWED_HOSTS: AllowedHosts;
  /** The booking service's roles (none: no IAM caller gets busy times). */
  BUSY_READER_ROLE_ARNS: string[];
};

export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const allowed = parseAllowedHosts(parsed.data.CALDAV_ALLOWED_HOSTS) ?? defaultAllowedHosts(parsed.data.CALDAV_SERVER_URL);
  const badHost = allowed.map(invalidHostPattern).find(Boolean);
  if (badHost) throw new Error(`Invalid configuration: CALDAV_ALLOWED_HOSTS: ${badHost}`);
  const readers = (parsed.data.BUSY_READER_ROLE_ARNS ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  const badReader = readers.find((r) => !ROLE_ARN.test(r));
  if (badReader) throw new Error(`Invalid configuration: BUSY_READER_ROLE_ARNS: not an IAM role ARN: ${badReader}`);
  // KMS_KEY_ID / LOCAL_KEY_FILE are checked where the cipher is built (functions/lib/platform.ts):
  // details and disconnect never encrypt and are deployed without KMS_KEY_ID.
  return { ...parsed.data, CALDAV_ALLOWED_HOSTS: allowed, BUSY_READER_ROLE_ARNS: readers };
}

/** The CalDAV options domain code takes: server, per-request timeout, trusted hosts. */
export const caldavOptions = (config: Config) => ({
  serverUrl: config.CALDAV_SERVER_URL,
  timeoutMs: config.CALDAV_TIMEOUT_MS,
  allowedHosts: config.CALDAV_ALLOWED_HOSTS,
});

/** The local stack's own settings (contract §4), from `npm start`'s environment. */
const localSchema = z.object({
  PORT: z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n >= 0, 'must be a port number')), 3000),
  SQS_PORT: z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n >= 0, 'must be a port number')), 9324),
  LOCAL_DATA_DIR: z._default(z.string().check(z.minLength(1)), '.local'),
  SYNC_CONSUMERS: positiveInt(2),
  /**
   * Record every change before its first calendar request (default): the local queue lives in
   * the process, so a message being worked on dies with it. `false` syncs as deployed, where SQS
   * keeps the message (a new change is recorded with its first attempt's outcome).
   */
  SYNC_RECORD_FIRST: z._default(z.pipe(z.enum(['true', 'false']), z.transform((v) => v === 'true')), true),
  SWEEP_INTERVAL_SECONDS: positiveInt(60),
  RETRY_BASE_SECONDS: positiveInt(SYNC_DEFAULTS.retryBaseSeconds),
  HOST_CHANGES_INTERVAL_SECONDS: positiveInt(60),
  HOST_CHANGES_READ_LAG_SECONDS: z.optional(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n >= 0 && n <= 600, 'must be a whole number from 0 to 600'))),
  CALDAV_SERVER_URL: z._default(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), ICLOUD_CALDAV_URL),
  CALDAV_ALLOWED_HOSTS: optionalText,
  CALDAV_TIMEOUT_MS: positiveInt(10_000),
  AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
  /** `npm run demo`'s CalDAV server: Debian's Radicale (with its own python3, which has bcrypt). */
  RADICALE_BIN: z._default(z.string().check(z.minLength(1)), '/usr/bin/radicale'),
});

export type LocalSettings = z.infer<typeof localSchema>;

export function readLocalSettings(env: Record<string, string | undefined> = process.env): LocalSettings {
  const parsed = localSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}
