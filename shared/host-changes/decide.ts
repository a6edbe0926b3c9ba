import ICAL from 'ical.js';
import { icalInstant } from '../busy/zone.js';
import { currentHostChange, type BookingRecord } from '../store/bookings.js';
import type { HostChange } from './calendar-change.js';

/**
 * The pure part of host-change detection: given a booking record and what the calendar now
 * holds at its event's place, what does it count as? Times are compared as instants, by
 * content (DTSTART/DTEND), never by ETag alone: iCloud may answer the connector's own PUT
 * without an ETag, and a title or notes edit changes the ETag but is no reschedule.
 */

/** A listing may not show an object written this recently (iCloud's read-after-write lag). */
export const READ_LAG_GRACE_MS = 60_000;

/** What the calendar holds at the event's place: its text, or nothing. */
export type Observation = { kind: 'present'; ics: string } | { kind: 'missing' };

export type Verdict =
  | { kind: 'none' }
  | { kind: 'rescheduled'; start: string; end: string }
  /** Missing from the listing: report only once a GET and a UID search confirm it is gone. */
  | { kind: 'confirm_missing' }
  /** Missing, but written moments ago: look again at the next check. */
  | { kind: 'wait' };

/**
 * The bookings whose events detection watches: written by the current connection as the
 * connector last wrote them (not pending — a change not yet written never counts) and not
 * already known to be deleted by the host.
 */
export function watched(records: BookingRecord[], generation: string): BookingRecord[] {
  return records.filter(
    (r) =>
      r.generation === generation &&
      // The URL was written with this connection (not a calendar of an earlier Apple ID).
      (r.appliedGeneration === undefined || r.appliedGeneration === generation) &&
      r.desired === 'event' && r.appliedState === 'event' && r.appliedSeq === r.seq && !!r.booking && !!r.eventUrl && currentHostChange(r)?.kind !== 'deleted',
  );
}

/** The times the event has as far as the connector knows: as written, or as the host last moved it (already reported). */
export function knownTimes(r: BookingRecord): { start: string; end: string } {
  const hc = currentHostChange(r);
  if (hc?.kind === 'rescheduled' && hc.start && hc.end) return { start: hc.start, end: hc.end };
  return { start: new Date(r.booking!.start).toISOString(), end: new Date(r.booking!.end).toISOString() };
}

export function judge(record: BookingRecord, seen: Observation, now: number, graceMs = READ_LAG_GRACE_MS): Verdict {
  if (seen.kind === 'missing') return record.appliedAt !== undefined && now - record.appliedAt < graceMs ? { kind: 'wait' } : { kind: 'confirm_missing' };
  const times = eventTimes(seen.ics);
  if (!times) return { kind: 'none' };
  const known = knownTimes(record);
  return times.start === known.start && times.end === known.end ? { kind: 'none' } : { kind: 'rescheduled', ...times };
}

/** A verdict that is a host change to report. */
export const asHostChange = (v: Verdict): HostChange | undefined => (v.kind === 'rescheduled' ? { kind: 'rescheduled', start: v.start, end: v.end } : undefined);

/**
 * DTSTART and DTEND (or DTSTART + DURATION) of the object's main event, as UTC instants;
 * undefined when the text has no such event or cannot be read (then nothing is reported).
 */
export function eventTimes(ics: string): { start: string; end: string } | undefined {
  try {
    const comp = new ICAL.Component(ICAL.parse(ics));
    const vevents = comp.getAllSubcomponents('vevent');
    const main = vevents.find((v) => !v.hasProperty('recurrence-id')) ?? vevents[0];
    if (!main) return undefined;
    const event = new ICAL.Event(main);
    if (!event.startDate || !event.endDate) return undefined;
    // As busy reads read them (zone.ts): a TZID without VTIMEZONE (Outlook's Windows names too)
    // is its zone, floating times are UTC (as the connector writes); an unknown zone reports nothing.
    const tzid = (name: string) => {
      const v = main.getFirstProperty(name)?.getParameter('tzid');
      return typeof v === 'string' ? v : undefined;
    };
    const start = icalInstant(event.startDate, tzid('dtstart'), 'UTC');
    const end = icalInstant(event.endDate, tzid(main.hasProperty('dtend') ? 'dtend' : 'dtstart'), 'UTC');
    if (start === undefined || end === undefined) return undefined;
    return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
  } catch {
    return undefined;
  }
}
