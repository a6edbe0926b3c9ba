import { SendMessageBatchCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';

/** One message for a FIFO queue: its account's group and a deduplication id. */
export interface FifoEntry {
  body: string;
  group: string;
  dedupId: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/** SendMessageBatch takes at most 10 messages and 256 KiB in all. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 250_000;

/**
 * Sends messages to a FIFO queue in as few SendMessageBatch calls as its limits allow and
 * answers, per entry, whether the queue took it. A call that fails rejects, unless
 * `onBatchError` is given: then that batch's entries count as not taken and the rest go on.
 */
export async function sendFifo(sqs: SQSClient, queueUrl: string, entries: FifoEntry[], onBatchError?: (err: Error, size: number) => void): Promise<boolean[]> {
  const taken = entries.map(() => false);
  for (const batch of batches(entries.map((entry, index) => ({ entry, index })))) {
    try {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map(({ entry }, i) => ({
            Id: String(i),
            MessageBody: entry.body,
            MessageGroupId: entry.group,
            MessageDeduplicationId: entry.dedupId,
            ...(entry.attributes ? { MessageAttributes: entry.attributes } : {}),
          })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      batch.forEach(({ index }, i) => (taken[index] = !failed.has(String(i))));
    } catch (err) {
      if (!onBatchError) throw err;
      onBatchError(err as Error, batch.length);
    }
  }
  return taken;
}

function* batches<T extends { entry: FifoEntry }>(messages: T[]): Generator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.entry.body);
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
