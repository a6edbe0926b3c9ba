import * as z from 'zod/mini';
import { EMAIL_ADDRESS } from './event-text.js';
import { canonicalInstant, isBookableInstant, parseRfc3339, RFC3339_DATE_TIME } from './rfc3339.js';

/**
 * The booking event the booking service sends over SQS (contract §2), validated on every
 * message. `schemas/booking-event.schema.json` is generated from this schema.
 * (`zod/mini`: the same validator at a fraction of the bundle size and cold-start time.)
 */
const text = (max: number) => z.string().check(z.maxLength(max, `must be at most ${max} characters`));
const person = z.object({
  name: z.optional(text(256)),
  // Internationalised addresses (müller@example.de) are addresses too.
  email: z.string().check(z.maxLength(254), z.regex(EMAIL_ADDRESS, 'must be an e-mail address')),
});
const DATE_TIME = 'must be an RFC 3339 date-time with an offset';
const instant = z.pipe(
  z.string().check(
    z.regex(RFC3339_DATE_TIME, DATE_TIME),
    z.refine((v) => parseRfc3339(v) !== undefined, DATE_TIME),
    z.refine((v) => parseRfc3339(v) === undefined || isBookableInstant(v), 'must be in the years 1970 to 2100'),
  ),
  z.transform(canonicalInstant),
);
/**
 * The video call's link: https only (never `http:`, `javascript:`, `data:`…), no spaces or
 * control characters, a host — it goes into the event's URL, DESCRIPTION and maybe LOCATION.
 */
const HTTPS_URL = /^https:\/\/[^\s\u0000-\u001f\u007f]+$/;
const meetingUrl = z.string().check(
  z.maxLength(2048, 'must be at most 2048 characters'),
  z.regex(HTTPS_URL, 'must be an https URL'),
  z.refine((v) => !HTTPS_URL.test(v) || (URL.canParse(v) && new URL(v).hostname !== ''), 'must be an https URL'),
);
/** iCalendar's SEQUENCE is an INTEGER: 32-bit signed (RFC 5545 §3.3.8). */
export const MAX_SEQUENCE = 2 ** 31 - 1;
const bookingRef = {
  id: z.string().check(z.minLength(1, 'is required'), z.maxLength(256)),
  sequence: z.int('must be a whole number').check(z.minimum(0, 'must be 0 or more'), z.maximum(MAX_SEQUENCE, `must be at most ${MAX_SEQUENCE}`)),
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
    meetingUrl: z.optional(meetingUrl),
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

export type ParsedMessage = { ok: true; event: BookingEvent; dropped?: string[] } | { ok: false; reason: string };

/**
 * Parses one message body; the reason names what is wrong (never echoes field values).
 * An attendee that is not valid on its own (e.g. no usable address) is dropped, with its
 * reason in `dropped`, instead of costing the whole booking.
 */
export function parseBookingEvent(body: string): ParsedMessage {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const dropped = dropInvalidAttendees(data);
  const parsed = bookingEventSchema.safeParse(data);
  if (parsed.success) return { ok: true, event: parsed.data, ...(dropped.length ? { dropped } : {}) };
  const reason = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason };
}

/** Removes (in place) attendees that fail on their own, and says which and why. */
function dropInvalidAttendees(data: unknown): string[] {
  const booking = (data as { booking?: { attendees?: unknown } } | null)?.booking;
  if (!booking || typeof booking !== 'object' || !Array.isArray(booking.attendees)) return [];
  const reasons: string[] = [];
  booking.attendees = booking.attendees.filter((attendee, i) => {
    const checked = person.safeParse(attendee);
    if (!checked.success) reasons.push(`booking.attendees.${i}: ${checked.error.issues.map((x) => `${x.path.join('.') || '(attendee)'} ${x.message}`).join(', ')} (attendee dropped)`);
    return checked.success;
  });
  return reasons;
}
