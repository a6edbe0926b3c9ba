import type { MessageResult } from '../../shared/sync/sync-batch.js';

/** CloudWatch namespace of the connector's own metrics (EMF), read by the stack's alarms. */
export const METRICS_NAMESPACE = 'AppleCalendarConnector';

/**
 * The sync outcomes, one count per batch:
 * - SyncOk: written or deleted; SyncRetried: to be tried again (backoff);
 * - EventRejected: refused for good by the calendar server (alarmed);
 * - SyncInvalid: not a valid booking event (to the dead-letter queue);
 * - CredentialsRejected: a 401 seen now (not changes held because of an earlier one; alarmed);
 * - HandedToSweeper: out of receives while the server is down, left to the sweeper.
 */
export const SYNC_METRICS = ['SyncOk', 'SyncRetried', 'EventRejected', 'SyncInvalid', 'CredentialsRejected', 'HandedToSweeper'] as const;
export type SyncMetric = (typeof SYNC_METRICS)[number];
/** The sweeper's counts per run. */
export const SWEEP_METRICS = ['SweepRequeued', 'SweepHeld', 'SweepOrphans'] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];

/** Where metrics go: EMF lines on stdout in Lambda; tests and the bench keep them. */
export interface MetricsSink {
  publish(service: string, values: Record<string, number>): void;
}

export const stdoutMetrics: MetricsSink = {
  publish(service, values) {
    process.stdout.write(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })) }],
        },
        service,
        ...values,
      }) + '\n',
    );
  },
};

export function syncMetrics(results: MessageResult[], handedToSweeper: number): Record<SyncMetric, number> {
  const count = (pred: (r: MessageResult) => boolean) => results.filter(pred).length;
  return {
    SyncOk: count((r) => r.kind === 'ok'),
    SyncRetried: count((r) => r.kind === 'retry') - handedToSweeper,
    EventRejected: count((r) => r.kind === 'failed'),
    SyncInvalid: count((r) => r.kind === 'invalid'),
    CredentialsRejected: count((r) => r.kind === 'held' && r.rejected),
    HandedToSweeper: handedToSweeper,
  };
}
