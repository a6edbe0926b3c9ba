import { writeFileSync } from 'node:fs';
import { bookingEventJsonSchema } from '../shared/booking/booking-event-json-schema.js';

/** Writes schemas/booking-event.schema.json from the zod schema the sync worker validates with. */
writeFileSync(new URL('../schemas/booking-event.schema.json', import.meta.url), JSON.stringify(bookingEventJsonSchema(), null, 2) + '\n');
