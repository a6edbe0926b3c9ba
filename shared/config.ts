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
  const config = parsed.data;
  if (config.CIPHER === 'kms' && !config.KMS_KEY_ID) throw new Error('Invalid configuration: KMS_KEY_ID is required when CIPHER=kms');
  if (config.CIPHER === 'local' && !config.LOCAL_KEY_FILE) throw new Error('Invalid configuration: LOCAL_KEY_FILE is required when CIPHER=local');
  return config;
}
