import { scheduleHostChecks, type ScheduleResult } from '../../shared/host-changes/schedule.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import type { Platform } from '../lib/platform.js';

/**
 * Scheduled (EventBridge, every HOST_CHANGES_INTERVAL_SECONDS; the local stack on its own
 * timer): one host-change check message per active connection, in its account's group of the
 * booking-events queue. The sync function runs the checks.
 */
export function createHostChecksHandler(p: Platform): () => Promise<ScheduleResult> {
  const { config } = p;
  if (!config.QUEUE_URL) throw new Error('Invalid configuration: QUEUE_URL is required by the host-change scheduler');
  const deps = { connections: new ConnectionStore(p.table), sqs: p.sqs, queueUrl: config.QUEUE_URL, intervalSeconds: config.HOST_CHANGES_INTERVAL_SECONDS, log: p.log, now: p.now };
  return async () => {
    const result = await scheduleHostChecks(deps);
    p.metrics.publish(config.POWERTOOLS_SERVICE_NAME, { HostChecksScheduled: result.sent, HostChecksNotScheduled: result.failed });
    return result;
  };
}
