import * as z from 'zod/mini';
import { defaultAllowedHosts, invalidHostPattern, parseAllowedHosts, type AllowedHosts } from './caldav/trusted-hosts.js';

/**
 * Everything the connector reads from its environment, validated once per process.
 * A missing or malformed variable fails fast with its name in the message.
 */
const optionalText = z.optional(z.string().check(z.minLength(1)));
const positiveInt = (fallback: number) => z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n > 0, 'must be a positive whole number')), fallback);
const schema = z.object({
  TABLE_NAME: z.string({ error: 'is required' }).check(z.minLength(1, 'is required')),
  CALDAV_SERVER_URL: z._default(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), 'https://caldav.icloud.com'),
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
  ATTENDEE_MODE: z._default(z.enum(['attendees', 'description']), 'attendees'),
  DYNAMODB_ENDPOINT: optionalText,
  SQS_ENDPOINT: optionalText,
});

export type Config = Omit<z.infer<typeof schema>, 'CALDAV_ALLOWED_HOSTS'> & {
  /** Always set: the configured list, or the contract's default for CALDAV_SERVER_URL. */
  CALDAV_ALLOWED_HOSTS: AllowedHosts;
};

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const allowed = parseAllowedHosts(parsed.data.CALDAV_ALLOWED_HOSTS) ?? defaultAllowedHosts(parsed.data.CALDAV_SERVER_URL);
  const badHost = allowed.map(invalidHostPattern).find(Boolean);
  if (badHost) throw new Error(`Invalid configuration: CALDAV_ALLOWED_HOSTS: ${badHost}`);
  // KMS_KEY_ID / LOCAL_KEY_FILE are checked where the cipher is built (functions/lib/cipher.ts):
  // details and disconnect never encrypt and are deployed without KMS_KEY_ID.
  return { ...parsed.data, CALDAV_ALLOWED_HOSTS: allowed };
}

/** The CalDAV options domain code takes: server, per-request timeout, trusted hosts. */
export const caldavOptions = (config: Config) => ({
  serverUrl: config.CALDAV_SERVER_URL,
  timeoutMs: config.CALDAV_TIMEOUT_MS,
  allowedHosts: config.CALDAV_ALLOWED_HOSTS,
});
