import type { SQSClient } from '@aws-sdk/client-sqs';
import { sendFifo } from '../fifo-send.js';
import { calendarChange, changeDedupId, type HostChange } from './calendar-change.js';

export interface ReportedChange {
  accountId: string;
  bookingId: string;
  sequence: number;
  change: HostChange;
}

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
    const taken = await sendFifo(
      this.sqs,
      this.queueUrl,
      changes.map((c) => ({
        body: JSON.stringify(calendarChange(c.accountId, c.bookingId, c.sequence, c.change, this.now())),
        group: c.accountId,
        dedupId: changeDedupId(c.bookingId, c.sequence, c.change),
      })),
    );
    return changes.filter((_, i) => taken[i]);
  }
}
