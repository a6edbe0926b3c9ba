import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BookingEvent } from './booking-event.js';

/** SendMessageBatch takes at most 10 messages and 256 KiB in all. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 250_000;

/** Sends booking events to the booking-events queue (what connect's replay hands back). */
export class BookingQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Sends every event; rejects naming how many could not be sent. */
  async send(events: BookingEvent[], source: string): Promise<void> {
    let failed = 0;
    for (const batch of batches(events.map((e) => JSON.stringify(e)))) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((body, i) => ({ Id: String(i), MessageBody: body, MessageAttributes: { source: { DataType: 'String', StringValue: source } } })),
        }),
      );
      failed += out.Failed?.length ?? 0;
    }
    if (failed) throw new Error(`${failed} of ${events.length} booking events were not sent`);
  }
}

function* batches(bodies: string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (batch.length === MAX_ENTRIES || (batch.length && bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(body);
    bytes += size;
  }
  if (batch.length) yield batch;
}
