import ICAL from 'ical.js';

/**
 * Recurrence rules for busy times, on ical.js's RRULE iterator: which rules can be expanded
 * exactly, where to start so that a read costs what its window holds (not what a series'
 * history holds), and the per-read budget that bounds the iterator's work.
 */

/** The rule parts of RFC 5545 §3.3.10. Anything else (RFC 7529 RSCALE/SKIP, a typo) is not expanded exactly. */
const KNOWN_PARTS = new Set(['freq', 'interval', 'until', 'count', 'wkst', 'bysecond', 'byminute', 'byhour', 'byday', 'bymonthday', 'byyearday', 'byweekno', 'bymonth', 'bysetpos']);
const FREQS = new Set(['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);

/** Thrown when an event can't be expanded exactly: the caller counts it busy (fail closed). */
export class Inexact extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'Inexact';
  }
}

/** The read's expansion work ran out: what is not yet expanded counts busy. */
export class OutOfBudget extends Error {
  constructor() {
    super('busy read: expansion budget used up');
    this.name = 'OutOfBudget';
  }
}

/**
 * The work one busy read may spend expanding recurrences: iterator steps (every candidate
 * ical.js looks at, also the ones a BY rule rejects) and wall time, whichever ends first. Each
 * event (UID group) may use an eighth of the steps and a quarter of the time, so one dense
 * series is cut (busy from where it stopped) without cutting the others.
 */
export class Budget {
  used = 0;
  exhausted = false;
  /** Events cut at their share. */
  cuts = 0;
  private readonly deadline: number;
  private groupUsed = 0;
  private groupDeadline = Infinity;

  constructor(
    readonly maxSteps = 2_000_000,
    private readonly maxMs = 1_500,
  ) {
    this.deadline = performance.now() + maxMs;
  }

  /** The next event's share starts. */
  startGroup(): void {
    this.groupUsed = 0;
    this.groupDeadline = Math.min(this.deadline, performance.now() + this.maxMs / 4);
  }

  charge(): void {
    this.used += 1;
    this.groupUsed += 1;
    const late = (this.used & 1023) === 0 && performance.now();
    if (this.exhausted || this.used > this.maxSteps || (late && late > this.deadline)) {
      this.exhausted = true;
      throw new OutOfBudget();
    }
    if (this.groupUsed > this.maxSteps / 8 || (late && late > this.groupDeadline)) {
      this.cuts += 1;
      throw new OutOfBudget();
    }
  }
}

/** The budget the iterators of the running expansion charge (expansion is synchronous). */
let active: Budget | undefined;

export function withBudget<T>(budget: Budget, run: () => T): T {
  const before = active;
  active = budget;
  try {
    return run();
  } finally {
    active = before;
  }
}

/**
 * ical.js's iterator, charging every candidate it examines to the read's budget (a rule no
 * date matches can't loop for ever). Its contracting-rule test, as ical.js's own, except that
 * the day of week, week number and day of year are worked out only for a rule that has that
 * part (ical.js computes all three for every candidate; the week number is most of the cost).
 */
class BudgetedIterator extends ICAL.RecurIterator {
  override check_contracting_rules(): boolean {
    active?.charge();
    const last = this.last!;
    const by = (this as unknown as { by_data: Record<string, unknown> }).by_data;
    const pass = (part: string, value: () => number | string) => !(part in by) || this.check_contract_restriction(part, value());
    return (
      pass('BYSECOND', () => last.second) &&
      pass('BYMINUTE', () => last.minute) &&
      pass('BYHOUR', () => last.hour) &&
      pass('BYDAY', () => ICAL.Recur.numericDayToIcalDay(last.dayOfWeek())) &&
      pass('BYWEEKNO', () => last.weekNumber(this.rule!.wkst)) &&
      pass('BYMONTHDAY', () => last.day) &&
      pass('BYMONTH', () => last.month) &&
      pass('BYYEARDAY', () => last.dayOfYear())
    );
  }
}

/** The rule as ical.js parsed it, refused (Inexact) when it has a part or value ical.js does not expand. */
export function checkedRule(prop: ICAL.Property): ICAL.Recur {
  const json = prop.toJSON() as [string, unknown, string, Record<string, unknown>];
  const parts = json[3];
  if (!parts || typeof parts !== 'object') throw new Inexact('RRULE without value');
  for (const key of Object.keys(parts)) if (!KNOWN_PARTS.has(key.toLowerCase())) throw new Inexact(`RRULE part ${key.toUpperCase()}`);
  const rule = prop.getFirstValue() as ICAL.Recur;
  if (!(rule instanceof ICAL.Recur) || !FREQS.has(String(rule.freq))) throw new Inexact('RRULE FREQ');
  if (!Number.isInteger(rule.interval) || rule.interval < 1) throw new Inexact('RRULE INTERVAL');
  if (rule.count !== null && rule.count !== undefined && (!Number.isInteger(rule.count) || rule.count < 1)) throw new Inexact('RRULE COUNT');
  return rule;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Wall-clock length of one FREQ step, for the rules whose steps have a fixed wall length. */
const FIXED_STEP: Record<string, number> = { SECONDLY: 1000, MINUTELY: MINUTE, HOURLY: HOUR, DAILY: DAY, WEEKLY: 7 * DAY };

/** An ICAL.Time's wall clock as if it were UTC (ms). */
export const wallMs = (t: ICAL.Time) => Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * Where to start iterating so that every occurrence whose wall time is at or after
 * `wallTarget` is produced exactly as from DTSTART: DTSTART moved forward by a whole number
 * of the rule's periods (same alignment, same implied BY parts), never past `wallTarget`.
 * DTSTART itself when the rule counts (COUNT needs the occurrences before), when the series
 * starts near the target, or when moving could change what the rule means (BYWEEKNO, a
 * 29 February start). The start returned is at or before the target, so an occurrence that
 * is only the moved start is never in the part the caller keeps.
 */
export function startNear(rule: ICAL.Recur, dtstart: ICAL.Time, wallTarget: number): ICAL.Time {
  const gap = wallTarget - wallMs(dtstart);
  if (rule.count || gap <= 0) return dtstart;
  const freq = String(rule.freq);
  const step = FIXED_STEP[freq];
  const start = dtstart.clone();
  if (step) {
    const period = step * rule.interval;
    const k = Math.floor(gap / period);
    if (k <= 0) return dtstart;
    if (freq === 'WEEKLY' || freq === 'DAILY') start.adjust(k * rule.interval * (freq === 'WEEKLY' ? 7 : 1), 0, 0, 0);
    else start.adjust(0, 0, 0, (k * period) / 1000);
    return start;
  }
  // MONTHLY / YEARLY: whole years, so the month and day DTSTART implies stay the same.
  if (rule.parts.BYWEEKNO || (dtstart.month === 2 && dtstart.day === 29)) return dtstart;
  const months = freq === 'YEARLY' ? 12 * rule.interval : (12 * rule.interval) / gcd(12, rule.interval);
  const years = months / 12;
  const target = new Date(wallTarget);
  const k = Math.floor((target.getUTCFullYear() - dtstart.year - 1) / years);
  if (k <= 0) return dtstart;
  start.year += k * years;
  return start;
}

/** ical.js's iterator over `rule` from `start`, charging the read's budget. */
export function iterate(rule: ICAL.Recur, start: ICAL.Time): ICAL.RecurIterator {
  return new BudgetedIterator({ rule, dtstart: start });
}
