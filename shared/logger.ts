import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs. Keys that could carry a secret are redacted wherever they appear,
 * as a second line of defence: no code path is meant to log them in the first place.
 */
const SECRET_KEYS = /password|authorization|ciphertext|secret|token/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1)]),
  );
}

export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

export function createLogger(serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'apple-calendar-connector'): Logger {
  return new Logger({ serviceName, logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
}
