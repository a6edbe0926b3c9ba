import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';

export interface BookingOverrides {
  title?: string;
  start?: string;
  end?: string;
  description?: string;
  location?: string;
  attendees?: Array<{ name?: string; email: string }>;
  organizer?: { name?: string; email: string };
}

export function bookingEvent(type: 'confirmed' | 'updated' | 'cancelled', userId: string, id: string, sequence: number, o: BookingOverrides = {}) {
  const booking =
    type === 'cancelled'
      ? { id, sequence }
      : {
          id,
          sequence,
          title: o.title ?? `Consultation ${id} v${sequence}`,
          description: o.description ?? 'Booked online',
          start: o.start ?? '2026-12-01T15:00:00+01:00',
          end: o.end ?? '2026-12-01T15:30:00+01:00',
          location: o.location ?? 'Room 1',
          organizer: o.organizer ?? { name: 'Host Name', email: 'host@example.com' },
          attendees: o.attendees ?? [{ name: 'Ann', email: 'ann@example.com' }],
        };
  return { type: `booking.${type}`, userId, occurredAt: '2026-11-24T10:00:00Z', booking };
}

/** A real SQSEvent as Lambda's event source mapping delivers it. */
export function sqsEvent(bodies: Array<unknown>, receiveCount = 1): SQSEvent {
  return {
    Records: bodies.map((b) => {
      const id = randomUUID();
      return {
        messageId: id,
        receiptHandle: `rh-${id}`,
        body: typeof b === 'string' ? b : JSON.stringify(b),
        attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()), SenderId: 'test', ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:booking-events',
        awsRegion: 'us-east-1',
      };
    }),
  };
}
