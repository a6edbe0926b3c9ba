import * as z from 'zod/mini';

/**
 * Everything the connector reads from its environment, validated once per process.
 * A missing or malformed variable fails fast with its name in the message.
 */
const optionalText = z.optional(z.string().check(z.minLength(1)));
const positiveInt = (fallback: number) => z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n > 0, 'must be a positive whole number')), fallback);
const schema = z.object({
  TABLE_NAME: z.string({ error: 'is required' }).check(z.minLength(1, 'is required')),
  CALDAV_SERVER_URL: z._default(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), 'https://caldav.icloud.com'),
  CALDAV_TIMEOUT_MS: positiveInt(10_000),
  CIPHER: z._default(z.enum(['kms', 'local']), 'kms'),
  KMS_KEY_ID: optionalText,
  LOCAL_KEY_FILE: optionalText,
  QUEUE_URL: optionalText,
  DLQ_URL: optionalText,
  ATTENDEE_MODE: z._default(z.enum(['attendees', 'description']), 'attendees'),
  DYNAMODB_ENDPOINT: optionalText,
  SQS_ENDPOINT: optionalText,
  /** Busy reads answer from a confirmation this recent without asking the CalDAV server. */
  BUSY_REVALIDATE_SECONDS: z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n >= 0 && n <= 60, 'must be a whole number from 0 to 60')), 15),
});

export type Config = z.infer<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  // KMS_KEY_ID / LOCAL_KEY_FILE are checked where the cipher is built (functions/lib/cipher.ts):
  // details and disconnect never encrypt and are deployed without KMS_KEY_ID.
  return parsed.data;
}
