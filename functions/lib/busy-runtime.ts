import { BusyCacheStore } from '../../shared/store/busy-cache.js';
import type { BusyDeps } from '../../shared/busy/busy-service.js';
import { PasswordCache } from '../../shared/sync/password-cache.js';
import { cipherFromConfig } from './cipher.js';
import { config, connections, log, table } from './runtime.js';

/** What a busy read needs: the connection, the busy cache, the password (decrypt) and CalDAV. */
export const busyDeps: BusyDeps = {
  connections,
  cache: new BusyCacheStore(table),
  passwords: new PasswordCache(cipherFromConfig(config)),
  caldav: { timeoutMs: config.CALDAV_TIMEOUT_MS },
  log,
  revalidateAfterMs: config.BUSY_REVALIDATE_SECONDS * 1000,
};
