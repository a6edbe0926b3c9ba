import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localCredentials } from '../../local/dynamo.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBookingEvent, type BookingEvent } from '../../shared/booking/booking-event.js';
import { BookingQueue } from '../../shared/booking/booking-queue.js';
import { startLocalQueue } from '../../local/sqs.js';
import { bookingEvent } from '../harness/bookings.js';

let queue: Awaited<ReturnType<typeof startLocalQueue>>;
beforeAll(async () => {
  queue = await startLocalQueue({ port: 0 });
});
afterAll(async () => {
  await queue?.stop();
});

function parsed(body: unknown): BookingEvent {
  const p = parseBookingEvent(typeof body === 'string' ? body : JSON.stringify(body));
  if (!p.ok) throw new Error(p.reason);
  return p.event;
}

async function receiveAll() {
  const out = [];
  for (;;) {
    const res = await queue.client.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], VisibilityTimeout: 300 }));
    if (!res.Messages?.length) return out;
    out.push(...res.Messages);
    // FIFO: the group stays locked while its messages are in flight; take them off.
    for (const m of res.Messages) await queue.client.send(new DeleteMessageCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
  }
}

describe('BookingQueue', () => {
  it('sends every event, in batches of at most 10 messages and 256 KiB, with its source', async () => {
    // 23 events of ~45 kB (long description, 100 attendees): more than 10 by count, and 10 of
    // them would be over SQS's 256 KiB per batch.
    const attendees = Array.from({ length: 100 }, (_, j) => ({ name: `Attendee ${j} `.padEnd(200, 'n'), email: `a${j}@example.com` }));
    const events = Array.from({ length: 23 }, (_, i) => parsed(bookingEvent('updated', 'acct-q', `bk_${i}`, i, { description: 'x'.repeat(16_000), attendees })));
    expect(Buffer.byteLength(JSON.stringify(events[0])) * 10).toBeGreaterThan(256 * 1024);
    // fauxqs does not enforce SQS's batch limits: record each batch on the way out instead.
    const batches: Array<{ entries: number; bytes: number }> = [];
    const client = new SQSClient({ endpoint: queue.endpoint, region: 'us-east-1', credentials: localCredentials });
    client.middlewareStack.add(
      (next) => async (args) => {
        const entries = (args.input as { Entries?: Array<{ MessageBody: string }> }).Entries;
        if (entries) batches.push({ entries: entries.length, bytes: entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0) });
        return next(args);
      },
      { step: 'initialize' },
    );
    await new BookingQueue(client, queue.queueUrl).send(events, 'connect-replay');
    client.destroy();
    expect(batches.length).toBeGreaterThan(3);
    for (const b of batches) {
      expect(b.entries).toBeLessThanOrEqual(10);
      expect(b.bytes).toBeLessThanOrEqual(256 * 1024);
    }
    expect(batches.reduce((n, b) => n + b.entries, 0)).toBe(23);
    const messages = await receiveAll();
    expect(messages.map((m) => parsed(m.Body!).booking.id).sort()).toEqual(events.map((e) => e.booking.id).sort());
    for (const m of messages) expect(m.MessageAttributes?.source?.StringValue).toBe('connect-replay');
    // Each in its account's message group (FIFO: the account's one writer applies it).
    for (const m of messages) expect(m.Attributes?.MessageGroupId).toBe('acct-q');
  });

  it('rejects when the queue does not take them', async () => {
    const missing = queue.queueUrl.replace(/booking-events\.fifo$/, 'no-such-queue.fifo');
    await expect(new BookingQueue(queue.client, missing).send([parsed(bookingEvent('confirmed', 'a', 'b', 0))], 'test')).rejects.toThrow();
  });
});
