import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { sendFifo } from '../fifo-send.js';
import type { BookingEvent } from './booking-event.js';

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
    const taken = await sendFifo(
      this.sqs,
      this.queueUrl,
      events.map((e) => ({
        body: JSON.stringify(e),
        group: e.userId,
        dedupId: `${source}:${randomUUID()}`,
        attributes: { source: { DataType: 'String', StringValue: source } },
      })),
    );
    const failed = taken.filter((t) => !t).length;
    if (failed) throw new Error(`${failed} of ${events.length} booking events were not sent`);
  }
}
