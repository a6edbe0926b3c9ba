import type { MessageResult } from '../../shared/sync/sync-batch.js';

/**
 * One CloudWatch Embedded Metric Format line per batch: SyncOk, SyncFailed,
 * CredentialsRejected (namespace AppleCalendarConnector, dimension service).
 */
export function emitSyncMetrics(results: MessageResult[], write: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  const count = (pred: (r: MessageResult) => boolean) => results.filter(pred).length;
  const values = {
    SyncOk: count((r) => r.result === 'ok'),
    SyncFailed: count((r) => r.result === 'failed' || r.result === 'invalid'),
    CredentialsRejected: count((r) => r.result === 'held'),
    SyncRetried: count((r) => r.result === 'retry'),
  };
  write(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          { Namespace: 'AppleCalendarConnector', Dimensions: [['service']], Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })) },
        ],
      },
      service: 'apple-calendar-sync',
      ...values,
    }),
  );
}
