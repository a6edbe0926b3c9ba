import ICAL from 'ical.js';
import type { Interval } from './intervals.js';
import { isKnownTimeZone, wallTimeToUtc } from './zone.js';

/**
 * The busy-relevant part of calendar objects, with ical.js (the parser and recurrence engine
 * of Mozilla's and Nextcloud's calendars): `reduceObject` keeps what decides *when* an event
 * is busy — times, recurrence rules and exceptions, time zones, TRANSP, STATUS and the
 * account's own PARTSTAT — and drops everything else (titles, descriptions, locations,
 * people), so only that is ever stored. `busyIntervals` expands reduced objects over a window.
 */

const KEEP = ['uid', 'dtstart', 'dtend', 'duration', 'rrule', 'rdate', 'exdate', 'recurrence-id', 'transp', 'status'];
/** The account's own participation status in an invitation (the rest of ATTENDEE is dropped). */
const OWN_PARTSTAT = 'x-connector-own-partstat';
/** Occurrences looked at per recurring event before giving up (a minutely rule over years). */
const MAX_OCCURRENCES = 100_000;
/** Floating and all-day times move with the request's zone: look this far past the window. */
const SLACK_MS = 2 * 86_400_000;

export class UnreadableObject extends Error {
  constructor() {
    super('calendar object is not valid iCalendar');
    this.name = 'UnreadableObject';
  }
}

const normAddress = (a: unknown) =>
  String(a ?? '')
    .trim()
    .toLowerCase()
    .replace(/^mailto:/, '');

/** The account's addresses (Apple ID, calendar-user-address-set) in the form compared. */
export const ownAddressSet = (addresses: Iterable<string>) => new Set([...addresses].map(normAddress).filter(Boolean));

/**
 * The object reduced to its busy-relevant iCalendar, or undefined when it holds no VEVENT
 * (a VTODO in a mixed calendar). Throws UnreadableObject for text that is not iCalendar.
 */
export function reduceObject(ics: string, own: Set<string>): string | undefined {
  let roots: ICAL.Component[];
  try {
    const parsed = ICAL.parse(ics);
    const list = (Array.isArray(parsed[0]) ? parsed : [parsed]) as unknown[];
    roots = list.map((j) => new ICAL.Component(j as any));
  } catch {
    throw new UnreadableObject();
  }
  const out = new ICAL.Component('vcalendar');
  out.addPropertyWithValue('version', '2.0');
  out.addPropertyWithValue('prodid', '-//apple-calendar-connector//busy//EN');
  let events = 0;
  for (const root of roots) {
    for (const tz of root.getAllSubcomponents('vtimezone')) out.addSubcomponent(new ICAL.Component(JSON.parse(JSON.stringify(tz.toJSON()))));
    for (const ev of root.getAllSubcomponents('vevent')) {
      const r = new ICAL.Component('vevent');
      for (const name of KEEP) for (const p of ev.getAllProperties(name)) r.addProperty(new ICAL.Property(JSON.parse(JSON.stringify(p.toJSON()))));
      const partstat = ownPartstat(ev, own);
      if (partstat) r.addPropertyWithValue(OWN_PARTSTAT, partstat);
      out.addSubcomponent(r);
      events += 1;
    }
  }
  return events ? out.toString() : undefined;
}

/** DECLINED only when every ATTENDEE line that is the account says so. */
function ownPartstat(ev: ICAL.Component, own: Set<string>): string | undefined {
  const mine = ev.getAllProperties('attendee').filter((a) => [a.getFirstValue(), a.getParameter('email')].some((v) => own.has(normAddress(v))));
  if (!mine.length) return undefined;
  const states = mine.map((a) => String(a.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase());
  return states.every((s) => s === 'DECLINED') ? 'DECLINED' : states.find((s) => s !== 'DECLINED');
}

/** Whether one VEVENT (a whole event or one overridden instance) makes its time busy. */
function isBusy(c: ICAL.Component): boolean {
  const upper = (name: string) => String(c.getFirstPropertyValue(name) ?? '').toUpperCase();
  return upper('transp') !== 'TRANSPARENT' && upper('status') !== 'CANCELLED' && upper(OWN_PARTSTAT) !== 'DECLINED';
}

export interface ExpandWindow {
  from: number;
  to: number;
  /** IANA zone that all-day and floating times are read in. */
  timeZone: string;
}

export interface ExpandResult {
  intervals: Interval[];
  /** Recurring events whose expansion stopped at MAX_OCCURRENCES. */
  truncated: number;
}

/** Busy intervals (unmerged, unclipped) of reduced objects that overlap the window. */
export function busyIntervals(objects: Iterable<string>, win: ExpandWindow): ExpandResult {
  const intervals: Interval[] = [];
  let truncated = 0;
  const add = (c: ICAL.Component, start: ICAL.Time, end: ICAL.Time) => {
    if (!isBusy(c)) return;
    const s = instant(start, tzidOf(c, 'dtstart'), win.timeZone);
    const e = instant(end, tzidOf(c, c.hasProperty('dtend') ? 'dtend' : 'dtstart'), win.timeZone);
    if (e > s && s < win.to && e > win.from) intervals.push({ start: s, end: e });
  };

  for (const ics of objects) {
    const groups = parsedGroups(ics);
    if (!groups) continue; // stored objects were parsed once already
    for (const comps of groups) {
      const master = comps.find((c) => !c.hasProperty('recurrence-id'));
      const overrides = comps.filter((c) => c !== master && c.hasProperty('recurrence-id'));
      const standalone = (c: ICAL.Component) => {
        if (!c.hasProperty('dtstart')) return;
        const e = new ICAL.Event(c);
        add(c, e.startDate, e.endDate);
      };
      if (!master) {
        overrides.forEach(standalone); // an instance we were invited to without its series
        continue;
      }
      const event = new ICAL.Event(master, { exceptions: overrides.map((o) => new ICAL.Event(o)) });
      if (!master.hasProperty('dtstart')) continue;
      if (!event.isRecurring()) {
        add(master, event.startDate, event.endDate);
        overrides.forEach(standalone);
        continue;
      }
      const used = new Set<ICAL.Event>();
      const masterTzid = tzidOf(master, 'dtstart');
      const occurrence = (at: ICAL.Time) => {
        const d = event.getOccurrenceDetails(at);
        const item = d.item as ICAL.Event;
        if (item !== event) used.add(item);
        add(item.component, d.startDate, d.endDate);
      };
      // DTSTART is always the first instance (RFC 5545 §3.8.5.2); ical.js leaves it out of
      // a set made of RDATEs only.
      let sawStart = false;
      const start = event.startDate;
      const it = event.iterator();
      let n = 0;
      for (let next = it.next(); next; next = it.next()) {
        if (++n > MAX_OCCURRENCES) {
          truncated += 1;
          break;
        }
        if (instant(next, masterTzid, win.timeZone) > win.to + SLACK_MS) break;
        if (next.compare(start) === 0) sawStart = true;
        occurrence(next);
      }
      if (!sawStart && !master.hasProperty('rrule') && !isExcluded(master, start)) occurrence(start);
      // Overridden instances the expansion did not reach (moved here from after the window,
      // or naming no instance of the rule): each counts on its own. Fail closed.
      for (const ex of event.exceptions ? Object.values(event.exceptions) : []) if (!used.has(ex)) standalone(ex.component);
    }
  }
  return { intervals, truncated };
}

/**
 * Parsed objects, by their text, kept between reads of a warm container (parsing, and ical.js
 * expanding a VTIMEZONE's transitions, cost far more than expanding a window). Bounded.
 */
const PARSED_MAX = 4000;
const parsed = new Map<string, ICAL.Component[][] | null>();

function parsedGroups(ics: string): ICAL.Component[][] | null {
  const hit = parsed.get(ics);
  if (hit !== undefined) {
    parsed.delete(ics);
    parsed.set(ics, hit); // most recently used last
    return hit;
  }
  let groups: ICAL.Component[][] | null;
  try {
    const root = new ICAL.Component(ICAL.parse(ics) as any);
    shareTimezones(root);
    const byUid = new Map<string, ICAL.Component[]>();
    for (const ev of root.getAllSubcomponents('vevent')) {
      const uid = String(ev.getFirstPropertyValue('uid') ?? '');
      byUid.set(uid, [...(byUid.get(uid) ?? []), ev]);
    }
    groups = [...byUid.values()];
  } catch {
    groups = null;
  }
  parsed.set(ics, groups);
  if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value!);
  return groups;
}

/**
 * Objects with the same VTIMEZONE share one ical.js Timezone (keyed by its full text, so a
 * differing definition of the same TZID stays separate): its transitions are worked out once.
 * Uses ical.js's per-calendar time zone cache, which it fills the same way on first use.
 */
const ZONES_MAX = 200;
const zones = new Map<string, ICAL.Timezone>();

function shareTimezones(root: ICAL.Component): void {
  const cache = (root as unknown as { _timezoneCache?: Map<string, ICAL.Timezone> })._timezoneCache;
  if (!cache) return;
  for (const tz of root.getAllSubcomponents('vtimezone')) {
    const tzid = tz.getFirstPropertyValue('tzid');
    if (typeof tzid !== 'string') continue;
    const text = tz.toString();
    let zone = zones.get(text);
    if (!zone) {
      zone = new ICAL.Timezone({ component: tz, tzid });
      zones.set(text, zone);
      if (zones.size > ZONES_MAX) zones.delete(zones.keys().next().value!);
    }
    cache.set(tzid, zone);
  }
}

function isExcluded(c: ICAL.Component, at: ICAL.Time): boolean {
  return c.getAllProperties('exdate').some((p) => p.getValues().some((v) => v instanceof ICAL.Time && (v.isDate ? v.year === at.year && v.month === at.month && v.day === at.day : v.compare(at) === 0)));
}

function tzidOf(c: ICAL.Component, prop: string): string | undefined {
  const tzid = c.getFirstProperty(prop)?.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

/**
 * An ICAL.Time as ms since the epoch. UTC and times with a VTIMEZONE in the object are
 * ical.js's to convert; all-day and floating times are the wall clock in the request's zone;
 * a TZID without VTIMEZONE is read as an IANA zone when it is one, else as floating.
 */
function instant(t: ICAL.Time, tzid: string | undefined, requestZone: string): number {
  if (t.isDate) return wallTimeToUtc({ year: t.year, month: t.month, day: t.day }, requestZone);
  const zone = t.zone;
  if (zone && zone !== ICAL.Timezone.localTimezone && zone.tzid !== 'floating') return t.toUnixTime() * 1000;
  const name = tzid && isKnownTimeZone(tzid) ? tzid : requestZone;
  return wallTimeToUtc({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }, name);
}
