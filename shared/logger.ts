import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs. Keys that could carry a secret are redacted wherever they appear in a
 * log entry, as a second line of defence: no code path is meant to log them in the first place.
 */
const SECRET_KEY = /password|authorization|ciphertext|secret|token/i;

export const redactSecrets = (key: string, value: unknown): unknown => (key && SECRET_KEY.test(key) ? '[redacted]' : value);

export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

export function createLogger(serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'apple-calendar-connector'): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redactSecrets });
}
