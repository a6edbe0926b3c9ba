import * as z from 'zod/mini';
import { bookingEventSchema } from './booking-event.js';

/** The booking event as JSON Schema (draft 2020-12), for the booking service's developers. */
export function bookingEventJsonSchema() {
  return {
    $id: 'https://apple-calendar-connector/schemas/booking-event.schema.json',
    title: 'Booking event',
    description:
      'One SQS message per change of a booking. The change with the highest booking.sequence wins; booking.cancelled needs only booking.id and booking.sequence. end must be after start.',
    ...z.toJSONSchema(bookingEventSchema, { io: 'input', unrepresentable: 'any' }),
  };
}
