import ICAL from 'ical.js';
import { INEXACT_MARK, isFree, UNREADABLE } from './ical.js';
import type { Interval } from './intervals.js';
import { Budget, checkedRule, Inexact, iterate, startNear, wallMs, withBudget } from './recurrence.js';
import { icalInstant, ianaZoneOf, isFloating, offsetAt } from './zone.js';

/**
 * Reduced objects (ical.ts) → busy intervals in a window, exact as RFC 5545 defines it:
 * - every instance of a series lasts what the first lasts: DTEND gives an exact duration;
 *   DURATION's weeks and days are nominal (wall clock), its hours, minutes and seconds exact;
 * - DTSTART is the first instance; RRULE (each one), RDATE (dates, date-times and periods),
 *   EXDATE, overridden instances (RECURRENCE-ID, RANGE=THISANDFUTURE) and instances we were
 *   invited to without their series;
 * - a TZID without VTIMEZONE is its IANA zone, or a Windows zone name's (CLDR windowsZones);
 * - a series is expanded from a start near the window (recurrence.ts `startNear`), so a
 *   series that started years ago costs what the window holds.
 * Nothing is skipped: an event that can't be expanded exactly (an unknown rule part or zone,
 * a value that can't be read, an error of the library, the read's budget used up) is busy
 * from its first possible instant (or from where the exact expansion stopped) to the end
 * of the window.
 */

export interface ExpandWindow {
  from: number;
  to: number;
  /** IANA zone that all-day and floating times are read in. */
  timeZone: string;
}

export interface ExpandResult {
  intervals: Interval[];
  /** Events (UID groups or unreadable objects) counted busy without exact expansion. */
  inexact: number;
  /** Iterator steps the read used, and whether the budget cut an expansion (the read's, or an event's share). */
  steps: number;
  outOfBudget: boolean;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Busy intervals (unmerged, unclipped) of reduced objects that may overlap the window. */
export function busyIntervals(objects: Iterable<string>, win: ExpandWindow, budget = new Budget()): ExpandResult {
  const intervals: Interval[] = [];
  let inexact = 0;
  withBudget(budget, () => {
    for (const ics of objects) {
      const groups = ics === UNREADABLE ? null : parsedGroups(ics);
      if (!groups) {
        inexact += 1;
        intervals.push({ start: win.from, end: win.to });
        continue;
      }
      for (const group of groups) {
        const x = new Expansion(win, intervals);
        budget.startGroup();
        try {
          x.group(group);
        } catch {
          // Also a TypeError or RangeError of ical.js: never a 5xx, never skipped.
          inexact += 1;
          if (group.every((c) => isFree(c))) continue;
          const from = x.cursor ?? firstPossible(group, win);
          if (from < win.to) intervals.push({ start: Math.max(from, win.from), end: win.to });
        }
      }
    }
  });
  return { intervals, inexact, steps: budget.used, outOfBudget: budget.exhausted || budget.cuts > 0 };
}

/** How long an instance lasts: `days` nominal (wall clock; dates stay dates), then `ms` exact. */
interface Length {
  days: number;
  ms: number;
}

interface OverrideIndex {
  byInstant: Map<number, ICAL.Component>;
  byDate: Map<string, ICAL.Component>;
  /** RANGE=THISANDFUTURE overrides, by their RECURRENCE-ID instant, ascending. */
  future: Array<{ rid: number; c: ICAL.Component }>;
}

const NO_OVERRIDES: OverrideIndex = { byInstant: new Map(), byDate: new Map(), future: [] };

class Expansion {
  /** Where exact expansion reached (an instance's start): past it, a failure counts busy. */
  cursor: number | undefined;
  private readonly used = new Set<ICAL.Component>();

  constructor(
    private readonly win: ExpandWindow,
    private readonly out: Interval[],
  ) {}

  group(comps: ICAL.Component[]): void {
    if (comps.some((c) => c.hasProperty(INEXACT_MARK))) throw new Inexact('a property could not be read');
    const masters = comps.filter((c) => !c.hasProperty('recurrence-id'));
    const overrides = comps.filter((c) => c.hasProperty('recurrence-id'));
    const index = this.indexOverrides(overrides);
    // Two VEVENTs of one UID without RECURRENCE-ID (invalid, yet seen): each counts; the first owns the overrides.
    masters.forEach((m, i) => this.master(m, i === 0 ? index : NO_OVERRIDES));
    for (const o of overrides) if (!this.used.has(o)) this.single(o);
  }

  private indexOverrides(overrides: ICAL.Component[]): OverrideIndex {
    const index: OverrideIndex = { byInstant: new Map(), byDate: new Map(), future: [] };
    for (const o of overrides) {
      const prop = o.getFirstProperty('recurrence-id')!;
      const rid = timeValue(prop);
      if (rid.isDate) index.byDate.set(dateKey(rid), o);
      else {
        const at = this.instant(rid, tzidOf(prop));
        index.byInstant.set(at, o);
        if (String(prop.getParameter('range') ?? '').toUpperCase() === 'THISANDFUTURE') index.future.push({ rid: at, c: o });
      }
    }
    index.future.sort((a, b) => a.rid - b.rid);
    return index;
  }

  /** An event on its own (no recurrence): an override, an instance without its series. */
  private single(c: ICAL.Component, fallback?: Length): void {
    const prop = c.getFirstProperty('dtstart');
    if (!prop) throw new Inexact('VEVENT without DTSTART');
    const start = timeValue(prop);
    const tzid = tzidOf(prop);
    const at = this.instant(start, tzid);
    const len = hasLength(c) || !fallback ? this.lengthOf(c, start, tzid) : fallback;
    if (!isFree(c)) this.push(at, this.endOf(start, at, len, tzid));
  }

  private master(m: ICAL.Component, index: OverrideIndex): void {
    const prop = m.getFirstProperty('dtstart');
    if (!prop) throw new Inexact('VEVENT without DTSTART');
    const dtstart = timeValue(prop);
    const tzid = tzidOf(prop);
    const len = this.lengthOf(m, dtstart, tzid);
    const free = isFree(m);

    const exInstants = new Set<number>();
    const exDates = new Set<string>();
    for (const p of m.getAllProperties('exdate')) {
      for (const v of p.getValues()) {
        if (!(v instanceof ICAL.Time)) throw new Inexact('EXDATE value');
        if (v.isDate) exDates.add(dateKey(v));
        else exInstants.add(this.instant(v, tzidOf(p) ?? (isFloating(v) ? tzid : undefined)));
      }
    }

    const instance = (t: ICAL.Time, at: number, own?: number) => {
      if (exInstants.has(at) || exDates.has(dateKey(t))) return;
      const o = index.byInstant.get(at) ?? index.byDate.get(dateKey(t));
      if (o) {
        this.used.add(o);
        return this.single(o, len);
      }
      const future = latestAtOrBefore(index.future, at);
      if (future) return this.shifted(future, at, len);
      if (!free) this.push(at, own ?? this.endOf(t, at, len, tzid));
    };

    instance(dtstart, this.instant(dtstart, tzid)); // DTSTART is always the first instance (RFC 5545 §3.8.5.2)
    for (const p of m.getAllProperties('rdate')) {
      for (const v of p.getValues()) {
        if (v instanceof ICAL.Period) {
          const s = v.start;
          const at = this.instant(s, tzidOf(p) ?? (isFloating(s) ? tzid : undefined));
          const end = v.end ? this.instant(v.end, tzidOf(p) ?? (isFloating(v.end) ? tzid : undefined)) : at + durationMs(v.duration);
          if (end < at) throw new Inexact('RDATE period ends before it starts');
          instance(s, at, end);
        } else if (v instanceof ICAL.Time) instance(v, this.instant(v, tzidOf(p) ?? (isFloating(v) ? tzid : undefined)));
        else throw new Inexact('RDATE value');
      }
    }

    const rules = m.getAllProperties('rrule').map(checkedRule);
    const lead = (len.days ? (len.days + 1) * DAY : 0) + len.ms; // the longest an instance can last (a nominal day may have 25 hours)
    const stopAt = this.wallAt(this.win.to, dtstart, tzid) + HOUR;
    const firstWall = this.wallAt(this.win.from - lead, dtstart, tzid) - HOUR;
    for (const rule of rules) {
      // A series that ended (COUNT) before the window was expanded to its end once: not again.
      if ((lastWall.get(rule) ?? Infinity) < firstWall) continue;
      const start = startNear(rule, dtstart, firstWall);
      this.cursor = start === dtstart ? this.instant(dtstart, tzid) : this.win.from - lead;
      const it = iterate(rule, start);
      let last: number | undefined;
      for (let t = it.next(); t; t = it.next()) {
        last = wallMs(t);
        if (last > stopAt) break;
        if (start !== dtstart && t.compare(start) === 0) continue; // the moved start: before the window, maybe no instance
        if (t.compare(dtstart) === 0) continue; // counted above
        const at = this.instant(t, tzid);
        this.cursor = at;
        instance(t, at);
      }
      if (it.completed && start === dtstart) lastWall.set(rule, last ?? -Infinity);
    }
    this.cursor = undefined;
  }

  /** An instance after a RANGE=THISANDFUTURE override: moved by the override's shift, lasting what the override lasts. */
  private shifted(future: { rid: number; c: ICAL.Component }, at: number, fallback: Length): void {
    const prop = future.c.getFirstProperty('dtstart');
    if (!prop) throw new Inexact('VEVENT without DTSTART');
    const oStart = timeValue(prop);
    const tzid = tzidOf(prop);
    const oAt = this.instant(oStart, tzid);
    const len = hasLength(future.c) ? this.lengthOf(future.c, oStart, tzid) : fallback;
    const exact = this.endOf(oStart, oAt, len, tzid) - oAt;
    const start = at + (oAt - future.rid);
    if (!isFree(future.c)) this.push(start, start + exact);
  }

  private lengthOf(c: ICAL.Component, start: ICAL.Time, tzid: string | undefined): Length {
    const dtend = c.getFirstProperty('dtend');
    if (dtend) {
      const end = timeValue(dtend);
      if (start.isDate && end.isDate) {
        const days = dayNumber(end) - dayNumber(start);
        if (days < 0) throw new Inexact('DTEND before DTSTART');
        return { days, ms: 0 };
      }
      const ms = this.instant(end, tzidOf(dtend) ?? (isFloating(end) ? tzid : undefined)) - this.instant(start, tzid);
      if (ms < 0) throw new Inexact('DTEND before DTSTART');
      return { days: 0, ms };
    }
    const duration = c.getFirstPropertyValue('duration');
    if (duration !== null && duration !== undefined) {
      if (!(duration instanceof ICAL.Duration) || duration.isNegative) throw new Inexact('DURATION value');
      return { days: duration.weeks * 7 + duration.days, ms: ((duration.hours * 60 + duration.minutes) * 60 + duration.seconds) * 1000 };
    }
    // RFC 5545 §3.6.1: a date lasts its day; a date-time without end takes no time.
    return start.isDate ? { days: 1, ms: 0 } : { days: 0, ms: 0 };
  }

  private endOf(start: ICAL.Time, at: number, len: Length, tzid: string | undefined): number {
    if (!len.days) return at + len.ms;
    const end = start.clone();
    end.adjust(len.days, 0, 0, 0);
    return this.instant(end, tzid) + len.ms;
  }

  private push(start: number, end: number): void {
    if (end > start && start < this.win.to && end > this.win.from) this.out.push({ start, end });
  }

  /** The wall clock (as if UTC, ms) of the series' zone at an instant: where its iteration is. */
  private wallAt(ms: number, dtstart: ICAL.Time, tzid: string | undefined): number {
    if (!dtstart.isDate && !isFloating(dtstart)) {
      const t = ICAL.Time.fromJSDate(new Date(ms), true);
      t.zone = ICAL.Timezone.utcTimezone;
      return wallMs(t.convertToZone(dtstart.zone!));
    }
    const zone = !dtstart.isDate && tzid !== undefined ? ianaZoneOf(tzid) : this.win.timeZone;
    if (!zone) throw new Inexact('unknown TZID');
    return ms + offsetAt(ms, zone);
  }

  /** An ICAL.Time as ms since the epoch (zone.ts); all-day and floating times in the request's zone; an unknown TZID is Inexact. */
  private instant(t: ICAL.Time, tzid: string | undefined): number {
    const at = icalInstant(t, tzid, this.win.timeZone);
    if (at === undefined) throw new Inexact('unknown TZID');
    return at;
  }
}

/** Wall clocks run at most 14 h ahead of UTC. */
const EARLIEST_OFFSET = 14 * HOUR;

/** Wall time of the last instance of a rule expanded to its end (the rules of the parsed-object cache). */
const lastWall = new WeakMap<ICAL.Recur, number>();

/** The earliest instant a group could start at, whatever its zone means: for the fail-closed answer. */
function firstPossible(group: ICAL.Component[], win: ExpandWindow): number {
  let first = Infinity;
  for (const c of group) {
    try {
      const t = timeValue(c.getFirstProperty('dtstart')!);
      first = Math.min(first, t.isDate || isFloating(t) ? wallMs(t) - EARLIEST_OFFSET : t.toUnixTime() * 1000);
    } catch {
      return win.from;
    }
  }
  return Number.isFinite(first) ? first : win.from;
}

function latestAtOrBefore<T extends { rid: number }>(list: T[], at: number): T | undefined {
  let found: T | undefined;
  for (const x of list) {
    if (x.rid > at) break;
    found = x;
  }
  return found;
}

function timeValue(prop: ICAL.Property): ICAL.Time {
  const v = prop.getFirstValue();
  if (!(v instanceof ICAL.Time) || !Number.isFinite(v.year) || v.month < 1 || v.month > 12 || v.day < 1 || v.day > 31) throw new Inexact(`${prop.name.toUpperCase()} value`);
  return v;
}

const hasLength = (c: ICAL.Component) => c.hasProperty('dtend') || c.hasProperty('duration');
const dateKey = (t: ICAL.Time) => `${t.year}-${t.month}-${t.day}`;
const dayNumber = (t: ICAL.Time) => Date.UTC(t.year, t.month - 1, t.day) / DAY;
const durationMs = (d: ICAL.Duration) => {
  if (d.isNegative) throw new Inexact('negative duration');
  return d.toSeconds() * 1000;
};

function tzidOf(prop: ICAL.Property): string | undefined {
  const tzid = prop.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

/**
 * Parsed objects, by their text, kept between reads of a warm container (parsing, and ical.js
 * expanding a VTIMEZONE's transitions, cost far more than expanding a window). Bounded.
 * null: the text is not iCalendar (it then counts busy over the whole window).
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
