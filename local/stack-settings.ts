import type { LocalSettings } from '../shared/config.js';
import type { LocalStackOptions } from './stack.js';

/** The local stack's options from `npm start`'s (and `npm run demo`'s) environment. */
export const stackOptions = (settings: LocalSettings): LocalStackOptions => ({
  port: settings.PORT,
  sqsPort: settings.SQS_PORT,
  dataDir: settings.LOCAL_DATA_DIR,
  consumers: settings.SYNC_CONSUMERS,
  recordFirst: settings.SYNC_RECORD_FIRST,
  sweepIntervalSeconds: settings.SWEEP_INTERVAL_SECONDS,
  retryBaseSeconds: settings.RETRY_BASE_SECONDS,
  hostChangesIntervalSeconds: settings.HOST_CHANGES_INTERVAL_SECONDS,
  hostChangesReadLagSeconds: settings.HOST_CHANGES_READ_LAG_SECONDS,
  caldavServerUrl: settings.CALDAV_SERVER_URL,
  caldavAllowedHosts: settings.CALDAV_ALLOWED_HOSTS,
  caldavTimeoutMs: settings.CALDAV_TIMEOUT_MS,
  region: settings.AWS_REGION,
});
