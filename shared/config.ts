import { z } from 'zod';

/**
 * Everything the connector reads from its environment, validated once per process.
 * A missing or malformed variable fails fast with its name in the message.
 */
const schema = z.object({
  TABLE_NAME: z.string().min(1),
  CALDAV_SERVER_URL: z.url({ protocol: /^https?$/ }).default('https://caldav.icloud.com'),
  CALDAV_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  CIPHER: z.enum(['kms', 'local']).default('kms'),
  KMS_KEY_ID: z.string().min(1).optional(),
  LOCAL_KEY_FILE: z.string().min(1).optional(),
  QUEUE_URL: z.string().min(1).optional(),
  DLQ_URL: z.string().min(1).optional(),
  ATTENDEE_MODE: z.enum(['attendees', 'description']).default('attendees'),
  DYNAMODB_ENDPOINT: z.string().min(1).optional(),
  SQS_ENDPOINT: z.string().min(1).optional(),
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
