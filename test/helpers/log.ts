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
