import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { CalendarObjects } from '../../shared/caldav/objects.js';
import { caldavOptions, SYNC_DEFAULTS } from '../../shared/config.js';
import { batchedReads } from '../../shared/store/batched-reads.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { retryDelaySeconds } from '../../shared/sync/backoff.js';
import { PasswordCache } from '../../shared/sync/password-cache.js';
import { syncBatch, type BatchDeps, type MessageResult } from '../../shared/sync/sync-batch.js';
import { ChangeReporter } from '../../shared/host-changes/reporter.js';
import { runHostCheck, type RunCheckDeps } from '../../shared/host-changes/run-check.js';
import { HostCheckStore } from '../../shared/store/host-check-state.js';
import { hostCheckMetrics, syncMetrics } from '../lib/metrics.js';
import type { Platform } from '../lib/platform.js';

/** SQS keeps a message invisible for at most 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Kept back from the invocation's remaining time for what follows the calendar work: the
 * records of what was not done, the queue calls, the metrics.
 */
export const settleReserveMs = (remainingMs: number) => Math.min(10_000, Math.max(1_000, Math.floor(remainingMs * 0.2)));

/**
 * SQS consumer of the FIFO booking-events queue (ReportBatchItemFailures): booking events
 * become calendar events. Invalid messages go to the dead-letter queue with their reason. A
 * booking that failed on its own is recorded as due later and acknowledged (the sweeper
 * re-drives it), so it never holds back its account's other bookings. A throttled account's
 * message comes back after its backoff (ChangeMessageVisibility), pausing the account — unless
 * it is about to run out of receives or its wait is beyond what SQS can delay: then it is
 * acknowledged and left to the sweeper (it is recorded), so the dead-letter queue only ever
 * holds messages that can never be valid. Calendar work stops at a deadline taken from the
 * Lambda's remaining time; what is not done by then is recorded as due at the next sweep.
 */
export function createSyncHandler(p: Platform, opts: { random?: () => number; recordFirst?: boolean } = {}) {
  const { config, log } = p;
  const caldav = { ...caldavOptions(config), fetch: p.fetch };
  // The connections of a batch's accounts and the records of its bookings are read together: one BatchGetItem.
  const reads = batchedReads(p.table);
  const deps: BatchDeps = {
    connections: new ConnectionStore(p.table, { reads }),
    bookings: new BookingStore(p.table, () => p.now().getTime(), config.SWEEP_INTERVAL_SECONDS * 1000, reads),
    objects: new CalendarObjects(caldav),
    passwords: new PasswordCache(p.cipher(), undefined, () => p.now().getTime()),
    attendeeMode: config.ATTENDEE_MODE,
    caldav,
    log,
    retryBaseSeconds: config.RETRY_BASE_SECONDS,
    concurrency: SYNC_DEFAULTS.bookingConcurrency,
    accountConcurrency: SYNC_DEFAULTS.accountConcurrency,
    now: p.now,
    random: opts.random,
    recordFirst: opts.recordFirst,
  };
  // Host-change checks (contract §2b) arrive in the account's group like its booking events.
  if (config.HOST_CHANGES_QUEUE_URL) {
    const checkDeps: RunCheckDeps = {
      ...deps,
      hostChecks: new HostCheckStore(p.table),
      reporter: new ChangeReporter(p.sqs, config.HOST_CHANGES_QUEUE_URL, p.now),
      readLagGraceMs: config.HOST_CHANGES_READ_LAG_SECONDS * 1000,
    };
    deps.hostCheck = async (accountId) => {
      const outcome = await runHostCheck(checkDeps, accountId);
      const checked = outcome.kind === 'checked' ? outcome.result : undefined;
      return { failed: outcome.kind === 'failed', reported: checked?.reported ?? 0, requests: checked?.requests ?? 0 };
    };
  }

  /** Returns whether the message must come back (a batch item failure); counts hand-overs. */
  async function settle(result: MessageResult, record: SQSRecord, handedOver: { count: number }): Promise<boolean> {
    if (result.kind === 'invalid') {
      log.error('invalid booking event sent to the dead-letter queue', { messageId: result.id, reason: result.reason });
      return !(await toDeadLetterQueue(record, result.reason));
    }
    if (result.kind !== 'retry') return false;
    const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    const seconds = result.retryAfterSeconds ?? retryDelaySeconds({ attempt: receives, baseSeconds: config.RETRY_BASE_SECONDS, random: opts.random });
    if (result.recorded && (receives >= config.MAX_RECEIVE_COUNT - 1 || seconds > MAX_VISIBILITY_SECONDS)) {
      handedOver.count += 1;
      log.warn('change not written: left to the sweeper', { messageId: record.messageId, receives, retryInSeconds: seconds });
      return false;
    }
    await delayRedelivery(record, Math.min(seconds, MAX_VISIBILITY_SECONDS));
    return true;
  }

  /** Invalid messages go straight to the DLQ with their reason; without one, redrive takes them. */
  async function toDeadLetterQueue(record: SQSRecord, reason: string): Promise<boolean> {
    if (!config.DLQ_URL) return false;
    try {
      await p.sqs.send(
        new SendMessageCommand({
          QueueUrl: config.DLQ_URL,
          MessageBody: record.body,
          MessageGroupId: record.attributes?.MessageGroupId || 'invalid',
          MessageDeduplicationId: record.messageId,
          MessageAttributes: {
            rejectedReason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
            sourceMessageId: { DataType: 'String', StringValue: record.messageId },
          },
        }),
      );
      return true;
    } catch (err) {
      log.error('could not send to the dead-letter queue; redrive will', { messageId: record.messageId, error: (err as Error).message });
      return false;
    }
  }

  async function delayRedelivery(record: SQSRecord, seconds: number): Promise<void> {
    if (!config.QUEUE_URL) return;
    try {
      await p.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: config.QUEUE_URL, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
    } catch (err) {
      log.warn('could not delay redelivery; the queue visibility timeout applies', { messageId: record.messageId, error: (err as Error).message });
    }
  }

  return async (event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> => {
    const records = new Map(event.Records.map((r) => [r.messageId, r]));
    const remaining = context?.getRemainingTimeInMillis();
    const deadline = remaining === undefined ? undefined : Date.now() + remaining - settleReserveMs(remaining);
    const results = await syncBatch(
      deps,
      event.Records.map((r) => ({ id: r.messageId, body: r.body, receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1) })),
      { deadline },
    );
    const handedOver = { count: 0 };
    const failed = await Promise.all(results.map((r) => settle(r, records.get(r.id)!, handedOver)));
    p.metrics.publish(config.POWERTOOLS_SERVICE_NAME, { ...syncMetrics(results, handedOver.count), ...hostCheckMetrics(results) });
    return { batchItemFailures: results.filter((_, i) => failed[i]).map((r) => ({ itemIdentifier: r.id })) };
  };
}
