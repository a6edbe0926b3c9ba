import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BookingEvent } from './booking-event.js';

/** SendMessageBatch takes at most 10 messages and 256 KiB in all. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 250_000;

/**
 * Puts messages (back) on the FIFO booking-events queue, each in its account's message
 * group — so whatever puts them there (a reconnect, the sweeper), the one sync writer of that
 * account applies them. Each gets a fresh deduplication id: a re-drive must not be taken for
 * the message it re-drives.
 */
export class BookingQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Sends every message (a booking event or the connector's own); rejects naming how many could not be sent. */
  async send(events: ReadonlyArray<Pick<BookingEvent, 'userId'>>, source: string): Promise<void> {
    let failed = 0;
    for (const batch of batches(events.map((e) => ({ group: e.userId, body: JSON.stringify(e) })))) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((m, i) => ({
            Id: String(i),
            MessageBody: m.body,
            MessageGroupId: m.group,
            MessageDeduplicationId: `${source}:${randomUUID()}`,
            MessageAttributes: { source: { DataType: 'String', StringValue: source } },
          })),
        }),
      );
      failed += out.Failed?.length ?? 0;
    }
    if (failed) throw new Error(`${failed} of ${events.length} booking events were not sent`);
  }
}

function* batches<T extends { body: string }>(messages: T[]): Generator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.body);
    if (batch.length === MAX_ENTRIES || (batch.length && bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(m);
    bytes += size;
  }
  if (batch.length) yield batch;
}
