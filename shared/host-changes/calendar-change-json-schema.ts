import * as z from 'zod/mini';
import { calendarChangeSchema } from './calendar-change.js';

/** The host-change report as JSON Schema (draft 2020-12), for the booking service's developers. */
export function calendarChangeJsonSchema() {
  return {
    $id: 'https://apple-calendar-connector/schemas/calendar-change.schema.json',
    title: 'Calendar change',
    description:
      'One SQS message (FIFO queue calendar-changes.fifo, MessageGroupId = userId) per change the host made to a booking\'s event in Apple Calendar. booking.sequence is the sequence the connector had written; event (UTC) is present for calendar.event.rescheduled only and holds the times the event has now.',
    ...z.toJSONSchema(calendarChangeSchema, { io: 'input', unrepresentable: 'any' }),
  };
}
