import ICAL from 'ical.js';

/**
 * The busy-relevant part of calendar objects, with ical.js (the parser of Mozilla's and
 * Nextcloud's calendars): `reduceObject` keeps what decides *when* an event is busy — times,
 * recurrence rules and exceptions, time zones, TRANSP, STATUS, Outlook's intended status and
 * the account's own PARTSTAT — and drops everything else (titles, descriptions, locations,
 * people), so only that is ever stored. expand.ts turns reduced objects into intervals.
 *
 * Nothing is dropped silently: a line ical.js can't read is left out and its VEVENT marked
 * (`X-CONNECTOR-INEXACT`, counted busy from its first possible instant); text that is not
 * iCalendar at all becomes `UNREADABLE` (busy over the whole window).
 */

const KEEP = ['uid', 'dtstart', 'dtend', 'duration', 'rrule', 'rdate', 'exdate', 'recurrence-id', 'transp', 'status', 'x-microsoft-cdo-intendedstatus'];
/** The account's own participation status in an invitation (the rest of ATTENDEE is dropped). */
export const OWN_PARTSTAT = 'x-connector-own-partstat';
/** On a reduced VEVENT: a line of it could not be read, so it can't be expanded exactly. */
export const INEXACT_MARK = 'x-connector-inexact';
/** A stored object that is not iCalendar (or too large to read): busy over every window. */
export const UNREADABLE = 'X-CONNECTOR-UNREADABLE';

const normAddress = (a: unknown) =>
  String(a ?? '')
    .trim()
    .toLowerCase()
    .replace(/^mailto:/, '');

/** The account's addresses (Apple ID, calendar-user-address-set) in the form compared. */
export const ownAddressSet = (addresses: Iterable<string>) => new Set([...addresses].map(normAddress).filter(Boolean));

/**
 * The object reduced to its busy-relevant iCalendar; undefined when it holds no VEVENT (a
 * VTODO in a mixed calendar); `UNREADABLE` when it is not iCalendar.
 */
export function reduceObject(ics: string, own: Set<string>): string | undefined {
  try {
    return reduce(ics, own);
  } catch {
    return UNREADABLE; // whatever ical.js throws on: busy, never a 5xx
  }
}

function reduce(ics: string, own: Set<string>): string | undefined {
  if (!/BEGIN:VCALENDAR/i.test(ics)) return UNREADABLE;
  const roots = parseRoots(ics) ?? parseRoots(salvage(ics));
  if (!roots) return UNREADABLE;
  const out = new ICAL.Component('vcalendar');
  out.addPropertyWithValue('version', '2.0');
  out.addPropertyWithValue('prodid', '-//apple-calendar-connector//busy//EN');
  let events = 0;
  for (const root of roots) {
    for (const tz of root.getAllSubcomponents('vtimezone')) out.addSubcomponent(new ICAL.Component(JSON.parse(JSON.stringify(tz.toJSON()))));
    for (const ev of root.getAllSubcomponents('vevent')) {
      const r = new ICAL.Component('vevent');
      for (const name of [...KEEP, INEXACT_MARK]) for (const p of ev.getAllProperties(name)) r.addProperty(new ICAL.Property(JSON.parse(JSON.stringify(p.toJSON()))));
      const partstat = ownPartstat(ev, own);
      if (partstat) r.addPropertyWithValue(OWN_PARTSTAT, partstat);
      out.addSubcomponent(r);
      events += 1;
    }
  }
  return events ? out.toString() : undefined;
}

function parseRoots(ics: string): ICAL.Component[] | undefined {
  try {
    const parsed = ICAL.parse(ics);
    const list = (Array.isArray(parsed[0]) ? parsed : [parsed]) as unknown[];
    return list.map((j) => new ICAL.Component(j as any));
  } catch {
    return undefined;
  }
}

/**
 * The object without the lines ical.js refuses (`RRULE:FREQ=FOO`, a value that is not one),
 * each VEVENT that lost a line marked; a bad line outside any VEVENT marks them all.
 */
function salvage(ics: string): string {
  const lines = ics.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  const out: string[] = [];
  const marked = new Set<number>();
  const events: number[] = [];
  const open: string[] = [];
  let everyEvent = false;
  for (const line of lines) {
    if (!line.trim()) continue;
    const m = /^(BEGIN|END):(.+)$/i.exec(line.trim());
    if (m) {
      const name = m[2]!.trim().toUpperCase();
      if (m[1]!.toUpperCase() === 'BEGIN') {
        open.push(name);
        if (name === 'VEVENT') events.push(out.length);
      } else open.pop();
      out.push(line);
      continue;
    }
    if (lineParses(line)) out.push(line);
    else if (open.includes('VEVENT')) marked.add(events[events.length - 1]!);
    else everyEvent = true;
  }
  const mark = `${INEXACT_MARK.toUpperCase()}:1`;
  return out.flatMap((line, i) => (everyEvent ? events.includes(i) : marked.has(i)) ? [line, mark] : [line]).join('\r\n') + '\r\n';
}

function lineParses(line: string): boolean {
  try {
    ICAL.parse(`BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n${line}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`);
    return true;
  } catch {
    return false;
  }
}

/** DECLINED only when every ATTENDEE line that is the account says so. NEEDS-ACTION (not answered yet) is busy. */
function ownPartstat(ev: ICAL.Component, own: Set<string>): string | undefined {
  const mine = ev.getAllProperties('attendee').filter((a) => [a.getFirstValue(), a.getParameter('email')].some((v) => own.has(normAddress(v))));
  if (!mine.length) return undefined;
  const states = mine.map((a) => String(a.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase());
  return states.every((s) => s === 'DECLINED') ? 'DECLINED' : states.find((s) => s !== 'DECLINED');
}

/**
 * Whether one VEVENT (a whole event or one overridden instance) leaves its time free: marked
 * free (`TRANSP:TRANSPARENT`, or Outlook's `X-MICROSOFT-CDO-INTENDEDSTATUS:FREE`), cancelled,
 * or declined by the account.
 */
export function isFree(c: ICAL.Component): boolean {
  const upper = (name: string) => String(c.getFirstPropertyValue(name) ?? '').trim().toUpperCase();
  return upper('transp') === 'TRANSPARENT' || upper('x-microsoft-cdo-intendedstatus') === 'FREE' || upper('status') === 'CANCELLED' || upper(OWN_PARTSTAT) === 'DECLINED';
}
