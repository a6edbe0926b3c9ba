import type { Log } from '../shared/logger.js';

/** For local plumbing started without a logger of its own: one JSON line on stderr. */
export const consoleLog: Pick<Log, 'error'> = {
  error: (message: string, attributes?: object) => console.error(JSON.stringify({ level: 'ERROR', message, ...attributes })),
} as Pick<Log, 'error'>;
