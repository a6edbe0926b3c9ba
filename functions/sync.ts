import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PasswordCache } from '../shared/sync/password-cache.js';
import { syncBatch, type MessageResult } from '../shared/sync/sync-batch.js';
import { cipherFromConfig } from './lib/cipher.js';
import { emitSyncMetrics } from './lib/metrics.js';
import { sqs } from './lib/queue.js';
import { config, log } from './lib/runtime.js';
import { redeliveryDelaySeconds } from './lib/redelivery.js';
import { syncDeps } from './lib/sync-runtime.js';

const deps = { ...syncDeps, passwords: new PasswordCache(cipherFromConfig(config)) };

/** SQS consumer (ReportBatchItemFailures): booking events become calendar events. */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const records = new Map(event.Records.map((r) => [r.messageId, r]));
  const results = await syncBatch(deps, event.Records.map((r) => ({ id: r.messageId, body: r.body })));
  const failures = await Promise.all(results.map((r) => settle(r, records.get(r.id)!)));
  emitSyncMetrics(results);
  return { batchItemFailures: failures.filter((id): id is string => !!id).map((itemIdentifier) => ({ itemIdentifier })) };
});

/** Returns the message id when the message must come back (a batch item failure). */
async function settle(result: MessageResult, record: SQSRecord): Promise<string | undefined> {
  if (result.result === 'invalid') {
    log.error('invalid booking event sent to the dead-letter queue', { messageId: result.id, reason: result.reason });
    return (await toDeadLetterQueue(record, result.reason)) ? undefined : result.id;
  }
  if (result.result !== 'retry') return undefined;
  await delayRedelivery(record, result.retryAfterSeconds);
  return result.id;
}

/** Invalid messages go straight to the DLQ with their reason; without one, redrive takes them. */
async function toDeadLetterQueue(record: SQSRecord, reason: string): Promise<boolean> {
  if (!config.DLQ_URL) return false;
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: config.DLQ_URL,
        MessageBody: record.body,
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

async function delayRedelivery(record: SQSRecord, retryAfterSeconds: number | undefined): Promise<void> {
  if (!config.QUEUE_URL) return;
  const seconds = redeliveryDelaySeconds(retryAfterSeconds, Number(record.attributes?.ApproximateReceiveCount ?? 1));
  try {
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: config.QUEUE_URL, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
  } catch (err) {
    log.warn('could not delay redelivery; the queue visibility timeout applies', { messageId: record.messageId, error: (err as Error).message });
  }
}
