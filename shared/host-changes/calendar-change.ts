import { createHash } from 'node:crypto';
import * as z from 'zod/mini';

/**
 * The message the connector sends to the booking service when the host changed a booking's
 * event in Apple Calendar (contract §2b), on the FIFO queue `calendar-changes.fifo`.
 * `schemas/calendar-change.schema.json` is generated from this schema.
 */
const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const instant = z.string().check(z.regex(UTC_INSTANT, 'must be a UTC instant like 2026-12-01T15:00:00.000Z'));
const envelope = {
  userId: z.string().check(z.minLength(1), z.maxLength(256)),
  detectedAt: instant,
  booking: z.object({
    id: z.string().check(z.minLength(1), z.maxLength(256)),
    sequence: z.int().check(z.minimum(0), z.maximum(2 ** 31 - 1)),
  }),
};

export const calendarChangeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('calendar.event.deleted'), ...envelope }),
  z.strictObject({
    type: z.literal('calendar.event.rescheduled'),
    ...envelope,
    event: z.strictObject({ start: instant, end: instant }),
  }),
]);

export type CalendarChange = z.infer<typeof calendarChangeSchema>;

/** What the host did to one booking's event, as the detection found it. */
export type HostChange = { kind: 'deleted' } | { kind: 'rescheduled'; start: string; end: string };

export function calendarChange(userId: string, bookingId: string, sequence: number, change: HostChange, detectedAt: Date): CalendarChange {
  const base = { userId, detectedAt: detectedAt.toISOString(), booking: { id: bookingId, sequence } };
  return change.kind === 'deleted'
    ? { type: 'calendar.event.deleted', ...base }
    : { type: 'calendar.event.rescheduled', ...base, event: { start: change.start, end: change.end } };
}

/** SQS FIFO deduplication ids are at most 128 characters. */
const MAX_DEDUP_ID = 128;

/**
 * The same host change always gets the same id — `<bookingId>:<sequence>:<kind>[:<start>]` —
 * so a repeated detection is dropped by the queue; a later reschedule to another time is a
 * new change. Too long for SQS (booking ids go up to 256 characters): its SHA-256.
 */
export function changeDedupId(bookingId: string, sequence: number, change: HostChange): string {
  const id = `${bookingId}:${sequence}:${change.kind}${change.kind === 'rescheduled' ? `:${change.start}` : ''}`;
  return id.length <= MAX_DEDUP_ID && /^[\x21-\x7e]+$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
}
