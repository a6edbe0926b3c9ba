import { z } from 'zod';

/**
 * The booking event the booking service sends over SQS (contract §2), validated on every
 * message. `schemas/booking-event.schema.json` is generated from this schema.
 */
const text = (max: number) => z.string().max(max);
const person = z.object({
  name: text(256).optional(),
  email: z.email().max(254),
});
const instant = z.iso.datetime({ offset: true });
const bookingRef = {
  id: z.string().min(1).max(256),
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
};

export const bookingDetails = z
  .object({
    ...bookingRef,
    title: text(1024).min(1),
    description: text(16_384).optional(),
    start: instant,
    end: instant,
    location: text(2048).optional(),
    organizer: person,
    attendees: z.array(person).max(200).default([]),
  })
  .refine((b) => Date.parse(b.end) > Date.parse(b.start), { message: 'end must be after start', path: ['end'] });

const envelope = {
  userId: z.string().min(1).max(256),
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
