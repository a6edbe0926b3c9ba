import { writeFileSync } from 'node:fs';
import { bookingEventJsonSchema } from '../shared/booking/booking-event-json-schema.js';
import { calendarChangeJsonSchema } from '../shared/host-changes/calendar-change-json-schema.js';

/** Writes the JSON Schemas in schemas/ from the zod schemas the connector validates with. */
const write = (name: string, schema: unknown) => writeFileSync(new URL(`../schemas/${name}`, import.meta.url), JSON.stringify(schema, null, 2) + '\n');
write('booking-event.schema.json', bookingEventJsonSchema());
write('calendar-change.schema.json', calendarChangeJsonSchema());
