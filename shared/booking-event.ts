import * as z from 'zod/mini';

/**
 * The booking event the booking service sends over SQS (contract §2), validated on every
 * message. `schemas/booking-event.schema.json` is generated from this schema.
 * (`zod/mini`: the same validator at a fraction of the bundle size and cold-start time.)
 */
const text = (max: number) => z.string().check(z.maxLength(max, `must be at most ${max} characters`));
const person = z.object({
  name: z.optional(text(256)),
  email: z.email('must be an e-mail address').check(z.maxLength(254)),
});
const instant = z.iso.datetime({ offset: true, error: 'must be a date-time with an offset (RFC 3339)' });
const bookingRef = {
  id: z.string().check(z.minLength(1, 'is required'), z.maxLength(256)),
  sequence: z.int('must be a whole number').check(z.minimum(0, 'must be 0 or more'), z.maximum(Number.MAX_SAFE_INTEGER)),
};

export const bookingDetails = z
  .object({
    ...bookingRef,
    title: text(1024).check(z.minLength(1, 'is required')),
    description: z.optional(text(16_384)),
    start: instant,
    end: instant,
    location: z.optional(text(2048)),
    organizer: person,
    attendees: z._default(z.array(person).check(z.maxLength(200)), []),
  })
  .check(z.refine((b) => Date.parse(b.end) > Date.parse(b.start), { message: 'end must be after start', path: ['end'] }));

const envelope = {
  userId: z.string().check(z.minLength(1, 'is required'), z.maxLength(256)),
  occurredAt: instant,
};

export const bookingEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('booking.confirmed'), ...envelope, booking: bookingDetails }),
  z.object({ type: z.literal('booking.updated'), ...envelope, booking: bookingDetails }),
  z.object({ type: z.literal('booking.cancelled'), ...envelope, booking: z.looseObject(bookingRef) }),
]);

export type BookingEvent = z.infer<typeof bookingEventSchema>;
export type BookingDetails = z.infer<typeof bookingDetails>;

export type ParsedMessage = { ok: true; event: BookingEvent } | { ok: false; reason: string };

/** Parses one message body; the reason names what is wrong (never echoes field values). */
export function parseBookingEvent(body: string): ParsedMessage {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = bookingEventSchema.safeParse(data);
  if (parsed.success) return { ok: true, event: parsed.data };
  const reason = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason };
}
