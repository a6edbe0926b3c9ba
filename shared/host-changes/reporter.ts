import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { calendarChange, changeDedupId, type HostChange } from './calendar-change.js';

export interface ReportedChange {
  accountId: string;
  bookingId: string;
  sequence: number;
  change: HostChange;
}

/** SendMessageBatch takes at most 10 messages. */
const MAX_ENTRIES = 10;

/**
 * Tells the booking service about host changes: one message per change on the FIFO queue
 * `calendar-changes.fifo`, in the account's message group, with a deduplication id that is the
 * same for the same change (so a repeated detection is not a second report).
 */
export class ChangeReporter {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Sends every change; returns the ones the queue took (the others are tried again at the next check). */
  async report(changes: ReportedChange[]): Promise<ReportedChange[]> {
    const sent: ReportedChange[] = [];
    for (let i = 0; i < changes.length; i += MAX_ENTRIES) {
      const batch = changes.slice(i, i + MAX_ENTRIES);
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((c, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(calendarChange(c.accountId, c.bookingId, c.sequence, c.change, this.now())),
            MessageGroupId: c.accountId,
            MessageDeduplicationId: changeDedupId(c.bookingId, c.sequence, c.change),
          })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      batch.forEach((c, j) => failed.has(String(j)) || sent.push(c));
    }
    return sent;
  }
}
