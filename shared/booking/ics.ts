import { createHash } from 'node:crypto';
import ical, { ICalAlarmType, ICalAttendeeRole, ICalAttendeeStatus, ICalEventStatus, type ICalAttendeeScheduleAgent } from 'ical-generator';
import type { BookingDetails } from './booking-event.js';
import { eventText } from './event-text.js';

import type { AttendeeMode } from '../config.js';

/**
 * One event per booking: the UID and the resource name come from the account and the
 * booking id, so a redelivered message overwrites and never duplicates. Hashed, so neither
 * id appears in the user's calendar and any characters are safe in a URL.
 */
export function bookingObjectId(accountId: string, bookingId: string): { uid: string; filename: string } {
  const hash = createHash('sha256').update(`${accountId}\n${bookingId}`).digest('hex').slice(0, 40);
  return { uid: `${hash}@apple-calendar-connector`, filename: `${hash}.ics` };
}

/** Names go into quoted parameters (CN="..."), where quotes and control characters can't. */
const paramSafe = (name: string | undefined) => name?.replace(/["\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim() || undefined;

/**
 * The stored iCalendar object for a booking: times in UTC, no METHOD (iCloud rejects stored
 * objects with one), the organizer and the attendees with SCHEDULE-AGENT=CLIENT so the server
 * sends no invitations or "event changed" mails of its own (RFC 6638; Cal.com users got
 * Apple's mails until the organizer carried it too) — or, with mode `description`, attendees
 * listed in the description instead. The meeting link is the event's `URL`, a line of the
 * description and the `LOCATION` when the booking has none (Apple Calendar ignores
 * `CONFERENCE`); `alertMinutesBefore` adds a display `VALARM`. Escaping and line folding are
 * ical-generator's, except for the lines it gets wrong, which are written here: ORGANIZER
 * (re-folded after the parameter is added), URL (a URI value, never TEXT-escaped) and the
 * alarm's TRIGGER (always `-PT<n>M`).
 */
export function bookingToIcs(
  booking: BookingDetails,
  ids: { uid: string },
  opts: { attendeeMode?: AttendeeMode; stamp?: Date; alertMinutesBefore?: number } = {},
): string {
  const mode = opts.attendeeMode ?? 'attendees';
  const attendeeLines = booking.attendees.map((a) => (a.name ? `${a.name} <${a.email}>` : a.email));
  const description = [
    booking.description,
    booking.meetingUrl && `Join the video call: ${booking.meetingUrl}`,
    mode === 'description' && attendeeLines.length ? `Attendees:\n${attendeeLines.join('\n')}` : undefined,
  ]
    .filter(Boolean)
    .join('\n\n');

  const cal = ical({ prodId: { company: 'booking', product: 'apple-calendar-connector', language: 'EN' } });
  cal.createEvent({
    id: ids.uid,
    sequence: booking.sequence,
    stamp: opts.stamp ?? new Date(),
    start: new Date(booking.start),
    end: new Date(booking.end),
    // Control characters are stripped from event text (event-text.ts); escaping and folding are ical-generator's.
    summary: eventText(booking.title) ?? '',
    description: eventText(description) || undefined,
    location: eventText(booking.location) || booking.meetingUrl || undefined,
    status: ICalEventStatus.CONFIRMED,
    organizer: { name: paramSafe(booking.organizer.name) ?? booking.organizer.email, email: booking.organizer.email },
    attendees:
      mode === 'attendees'
        ? booking.attendees.map((a) => ({
            name: paramSafe(a.name),
            email: a.email,
            role: ICalAttendeeRole.REQ,
            status: ICalAttendeeStatus.ACCEPTED,
            scheduleAgent: 'CLIENT' as ICalAttendeeScheduleAgent,
          }))
        : [],
    alarms:
      opts.alertMinutesBefore === undefined
        ? []
        : [{ type: ICalAlarmType.display, trigger: opts.alertMinutesBefore * 60, description: eventText(`Reminder: ${booking.title}`) }],
  });
  let ics = organizerScheduledByClient(cal.toString());
  if (opts.alertMinutesBefore !== undefined) ics = ics.replace(/^TRIGGER:.*$/m, `TRIGGER:-PT${opts.alertMinutesBefore}M`);
  if (booking.meetingUrl) ics = withUrl(ics, booking.meetingUrl);
  return ics;
}

/**
 * `URL;VALUE=URI:<link>` as the event's last property (before its alarm, as RFC 5545's
 * grammar orders them), folded; the link is validated https without spaces or controls.
 */
function withUrl(ics: string, url: string): string {
  const lines = ics.split('\r\n');
  const at = lines.findIndex((l) => l === 'BEGIN:VALARM' || l === 'END:VEVENT');
  lines.splice(at, 0, ...foldLine(`URL;VALUE=URI:${url}`));
  return lines.join('\r\n');
}

/**
 * ical-generator has no organizer parameter option: add `SCHEDULE-AGENT=CLIENT` right after
 * the property name of each ORGANIZER line (before any quoted parameter, so no quoting can
 * be broken), unfolding the line first and folding it again at 75 octets.
 */
export function organizerScheduledByClient(ics: string): string {
  const lines = ics.split('\r\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (!/^ORGANIZER[;:]/i.test(line)) {
      out.push(line);
      continue;
    }
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) line += lines[++i]!.slice(1);
    out.push(...foldLine(`ORGANIZER;SCHEDULE-AGENT=CLIENT${line.slice('ORGANIZER'.length)}`));
  }
  return out.join('\r\n');
}

/** RFC 5545 §3.1: physical lines of at most 75 octets, continuations start with a space; never splits a character. */
function foldLine(line: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of line) {
    if (Buffer.byteLength(current) + Buffer.byteLength(ch) > 75) {
      out.push(current);
      current = ' ';
    }
    current += ch;
  }
  out.push(current);
  return out;
}
