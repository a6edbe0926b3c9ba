import { EventEmitter } from 'node:events';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { startFauxqs } from 'fauxqs';
import { localCredentials } from './dynamo.js';
import type { Log } from '../shared/logger.js';
import { consoleLog } from './console-log.js';
import { lambdaContext } from './http-api.js';

export const QUEUE_NAME = 'booking-events.fifo';
export const DLQ_NAME = 'booking-events-dlq.fifo';
/** Host changes for the booking service (contract §2b). */
export const CHANGES_QUEUE_NAME = 'calendar-changes.fifo';

const FIFO = { FifoQueue: 'true', ContentBasedDeduplication: 'true' };

/**
 * An SQS-compatible endpoint (fauxqs, in-process, the SDK's JSON protocol) with the FIFO
 * booking queue and its FIFO dead-letter queue (redrive after `maxReceiveCount` receives).
 * Message groups (one per account) are honoured: a group with a message in flight is not
 * handed to another consumer.
 */
export async function startLocalQueue(opts: { port?: number; maxReceiveCount?: number; visibilityTimeout?: number; region?: string } = {}) {
  const server = await startFauxqs({ port: opts.port ?? 9324, host: '127.0.0.1', logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new SQSClient({ endpoint, region: opts.region ?? 'us-east-1', credentials: localCredentials });
  const dlq = await client.send(new CreateQueueCommand({ QueueName: DLQ_NAME, Attributes: { ...FIFO, MessageRetentionPeriod: '1209600' } }));
  const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: QUEUE_NAME,
      Attributes: {
        ...FIFO,
        VisibilityTimeout: String(opts.visibilityTimeout ?? 30),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount ?? 10 }),
      },
    }),
  );
  // Deduplication by the reporter's id (the same change, the same id), not by content:
  // detectedAt differs between two detections of one change.
  const changes = await client.send(new CreateQueueCommand({ QueueName: CHANGES_QUEUE_NAME, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', MessageRetentionPeriod: '1209600' } }));
  return {
    endpoint,
    client,
    queueUrl: queue.QueueUrl!,
    dlqUrl: dlq.QueueUrl!,
    changesQueueUrl: changes.QueueUrl!,
    stop: async () => {
      client.destroy();
      await server.stop();
    },
  };
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

/**
 * Lambda's SQS event source mapping, locally: receives batches, calls the handler with a real
 * SQSEvent, deletes what succeeded and leaves the reported failures for redelivery.
 * Emits 'batch' ({ received, failed }) after each handled batch and 'idle' when a poll is empty.
 */
export function startPoller(opts: {
  client: SQSClient;
  queueUrl: string;
  queueArn?: string;
  handler: SqsHandler;
  batchSize?: number;
  waitSeconds?: number;
  /** The handler's time per batch (its Lambda timeout; the queue's visibility timeout must not be shorter). */
  budgetMs?: number;
  region?: string;
  log?: Pick<Log, 'error'>;
}) {
  const log = opts.log ?? consoleLog;
  const events = new EventEmitter();
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const out = await opts.client.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: opts.batchSize ?? 10,
            WaitTimeSeconds: opts.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (!running) break;
        if (!messages.length) {
          events.emit('idle');
          continue;
        }
        const event: SQSEvent = { Records: messages.map((m) => toRecord(m, opts.queueArn ?? `arn:aws:sqs:us-east-1:000000000000:${QUEUE_NAME}`, opts.region ?? 'us-east-1')) };
        let failed = new Set(messages.map((m) => m.MessageId!));
        try {
          const res = await opts.handler(event, lambdaContext(messages[0]!.MessageId!, 'sync', opts.budgetMs));
          failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (err) {
          log.error('sync handler threw: whole batch retried', { error: (err as Error).message });
        }
        const done = messages.filter((m) => !failed.has(m.MessageId!));
        if (done.length) {
          await opts.client.send(
            new DeleteMessageBatchCommand({ QueueUrl: opts.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
          );
        }
        events.emit('batch', { received: messages.length, failed: failed.size });
      } catch (err) {
        if (!running) break;
        events.emit('error', err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  events.on('error', (err) => log.error('local poller error', { error: (err as Error).message }));
  const done = loop();
  return {
    events,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

function toRecord(m: Message, arn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, { dataType: v.DataType!, stringValue: v.StringValue, stringListValues: [], binaryListValues: [] }]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}
