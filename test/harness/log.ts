import { Writable } from 'node:stream';
import type { Log } from '../../shared/logger.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  attributes: unknown[];
}

/** A Log that keeps what it was given (for assertions) and prints nothing. */
export function recordingLog(): Log & { entries: LogEntry[]; text(): string } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: unknown, ...attributes: unknown[]) => {
      entries.push({ level, message: String(message), attributes });
    };
  return {
    entries,
    text: () => JSON.stringify(entries),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    appendKeys: () => undefined,
    resetKeys: () => undefined,
  } as unknown as Log & { entries: LogEntry[]; text(): string };
}

/**
 * Where a stack's JSON log lines (and metrics) go in a test, instead of stdout: the real
 * Powertools logger writes here, so assertions see exactly what would reach CloudWatch.
 */
export function memoryOutput() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const metrics: Array<{ service: string; values: Record<string, number> }> = [];
  return {
    stream,
    metrics: { publish: (service: string, values: Record<string, number>) => void metrics.push({ service, values }) },
    published: metrics,
    text: () => chunks.join(''),
    /** JSON log lines written so far. */
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
