import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readLocalSettings } from '../shared/config.js';
import { localCredentials } from './dynamo.js';
import { QUEUE_NAME } from './sqs.js';

/**
 * Sends a sample booking event to the local stack's queue:
 *   npm run booking -- <userId> [confirmed|updated|cancelled] [bookingId] [sequence]
 * A confirmed booking tomorrow at 15:00 UTC; `updated` moves it an hour later.
 */
const [userId, kind = 'confirmed', bookingId = 'bk_sample', seqArg] = process.argv.slice(2);
if (!userId || !['confirmed', 'updated', 'cancelled'].includes(kind)) {
  console.error('usage: npm run booking -- <userId> [confirmed|updated|cancelled] [bookingId] [sequence]');
  process.exit(2);
}
const sequence = Number(seqArg ?? { confirmed: 0, updated: 1, cancelled: 2 }[kind]);
const start = new Date(Date.now() + 24 * 3600_000);
start.setUTCHours(kind === 'updated' ? 16 : 15, 0, 0, 0);
const end = new Date(start.getTime() + 30 * 60_000);

const event = {
  type: `booking.${kind}`,
  userId,
  occurredAt: new Date().toISOString(),
  booking:
    kind === 'cancelled'
      ? { id: bookingId, sequence }
      : {
          id: bookingId,
          sequence,
          title: 'Consultation with Ann',
          description: 'Booked through the booking page.',
          start: start.toISOString(),
          end: end.toISOString(),
          location: 'https://meet.example.com/ann',
          organizer: { name: 'Host Name', email: 'host@example.com' },
          attendees: [{ name: 'Ann', email: 'ann@example.com' }],
        },
};

const settings = readLocalSettings();
const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${settings.SQS_PORT}`, region: settings.AWS_REGION, credentials: localCredentials });
const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE_NAME }));
// As the booking service sends it (contract §2): the account's message group, a deduplication id per change.
const sent = await sqs.send(
  new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(event), MessageGroupId: userId, MessageDeduplicationId: `${bookingId}:${sequence}:${kind}` }),
);
console.log(JSON.stringify({ sent: event.type, bookingId, sequence, messageId: sent.MessageId }));
