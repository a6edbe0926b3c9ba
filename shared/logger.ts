import { Console } from 'node:console';
import type { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs. Keys that could carry a secret are redacted wherever they appear in a
 * log entry, as a second line of defence: no code path is meant to log them in the first place.
 */
const SECRET_KEY = /password|authorization|ciphertext|secret|token/i;

export const redactSecrets = (key: string, value: unknown): unknown => (key && SECRET_KEY.test(key) ? '[redacted]' : value);

export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

export interface LoggerOptions {
  serviceName: string;
  /** Powertools log level (default: Powertools' own, from its environment, else INFO). */
  level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Where JSON lines go instead of stdout (tests and the bench read them from here). */
  stream?: Writable;
}

export function createLogger(opts: LoggerOptions): Logger {
  const logger = new Logger({ serviceName: opts.serviceName, jsonReplacerFn: redactSecrets, ...(opts.level ? { logLevel: opts.level } : {}) });
  // Powertools writes through its own Console on stdout; point that one Console elsewhere.
  if (opts.stream) (logger as unknown as { console: Console }).console = new Console({ stdout: opts.stream, stderr: opts.stream });
  return logger;
}
