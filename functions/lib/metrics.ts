import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
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
/**
 * Host-change checks in a batch (only when it had any): HostChecks run, HostChecksFailed (the
 * next interval checks again), HostChangesReported, HostCheckRequests (CalDAV requests of them all).
 */
export const HOST_CHECK_METRICS = ['HostChecks', 'HostChecksFailed', 'HostChangesReported', 'HostCheckRequests'] as const;
export type HostCheckMetric = (typeof HOST_CHECK_METRICS)[number];

export function hostCheckMetrics(results: MessageResult[]): Partial<Record<HostCheckMetric, number>> {
  const checks = results.filter((r): r is Extract<MessageResult, { kind: 'checked' }> => r.kind === 'checked' && !r.repeat);
  if (!checks.length) return {};
  const sum = (f: (r: (typeof checks)[number]) => number) => checks.reduce((n, r) => n + f(r), 0);
  return {
    HostChecks: checks.length,
    HostChecksFailed: sum((r) => (r.failed ? 1 : 0)),
    HostChangesReported: sum((r) => r.reported),
    HostCheckRequests: sum((r) => r.requests),
  };
}

/** The sweeper's counts per run. */
export const SWEEP_METRICS = ['SweepRequeued', 'SweepHeld', 'SweepOrphans'] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];

/** Where metrics go: Powertools Metrics (EMF on stdout) in Lambda; tests and the bench keep them. */
export interface MetricsSink {
  publish(service: string, values: Record<string, number>): void;
}

/**
 * The cloud's sink: Powertools Metrics, one EMF line per publish (namespace
 * AppleCalendarConnector, dimension `service`). It costs ~3 ms of cold start (bench --explain).
 */
export function powertoolsMetrics(): MetricsSink {
  const byService = new Map<string, Metrics>();
  return {
    publish(service, values) {
      let metrics = byService.get(service);
      if (!metrics) byService.set(service, (metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service })));
      for (const [name, value] of Object.entries(values)) metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    },
  };
}

export function syncMetrics(results: MessageResult[], handedToSweeper: number): Record<SyncMetric, number> {
  const count = (pred: (r: MessageResult) => boolean) => results.filter(pred).length;
  return {
    SyncOk: count((r) => r.kind === 'ok'),
    SyncRetried: count((r) => r.kind === 'retry' || r.kind === 'scheduled') - handedToSweeper,
    EventRejected: count((r) => r.kind === 'failed'),
    SyncInvalid: count((r) => r.kind === 'invalid'),
    CredentialsRejected: count((r) => r.kind === 'held' && r.rejected),
    HandedToSweeper: handedToSweeper,
  };
}
