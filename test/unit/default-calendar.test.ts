import { describe, expect, it } from 'vitest';
import { canHoldBookings, chooseDefaultCalendar, type ListedCollection } from '../../shared/caldav/discovery.js';

const HOME = 'https://p01-caldav.icloud.com/123/calendars/';

/** A writable VEVENT calendar unless told otherwise. */
function cal(slug: string, over: Partial<ListedCollection> = {}): ListedCollection {
  return {
    url: `${HOME}${slug}/`,
    name: slug,
    resourceTypes: ['collection', 'calendar'],
    components: ['VEVENT'],
    privileges: ['read', 'write'],
    order: undefined,
    ...over,
  };
}

const home = (over: Partial<ListedCollection> = {}) => ({ resourceTypes: ['collection'], components: undefined, privileges: undefined, ...over });

describe('canHoldBookings', () => {
  it('accepts a writable calendar that takes events', () => {
    expect(canHoldBookings(cal('home'))).toBe(true);
    expect(canHoldBookings(cal('home', { components: ['VEVENT', 'VTODO'] }))).toBe(true);
  });

  it('accepts a calendar whose server does not say which components or privileges it has', () => {
    expect(canHoldBookings(cal('home', { components: undefined, privileges: undefined }))).toBe(true);
  });

  it.each([
    ['write-content', ['read', 'writeContent']],
    ['bind', ['read', 'bind']],
    ['all', ['all']],
  ])('accepts the %s privilege as writable', (_what, privileges) => {
    expect(canHoldBookings(cal('home', { privileges }))).toBe(true);
  });

  it('rejects a VTODO-only reminders list', () => {
    expect(canHoldBookings(cal('reminders', { components: ['VTODO'] }))).toBe(false);
  });

  it('rejects a collection that is not a calendar (the home itself, an address book)', () => {
    expect(canHoldBookings(cal('', home()))).toBe(false);
    expect(canHoldBookings(cal('contacts', { resourceTypes: ['collection', 'addressbook'] }))).toBe(false);
  });

  it.each([
    ['a subscription', 'subscribed'],
    ['the schedule inbox', 'scheduleInbox'],
    ['the schedule outbox', 'scheduleOutbox'],
    ['the notification collection', 'notification'],
  ])('rejects %s even if it claims to be a calendar holding events', (_what, type) => {
    expect(canHoldBookings(cal('x', { resourceTypes: ['collection', 'calendar', type] }))).toBe(false);
  });

  it('rejects a read-only calendar (shared to the user)', () => {
    expect(canHoldBookings(cal('shared', { privileges: ['read', 'readFreeBusy'] }))).toBe(false);
    expect(canHoldBookings(cal('shared', { privileges: [] }))).toBe(false);
  });
});

describe('chooseDefaultCalendar', () => {
  it("picks the server's default calendar when it can hold events, over order and URL", () => {
    const listed = [cal('a-first', { order: 0 }), cal('work', { order: 5, name: 'Work' }), cal('zz', { order: 9 })];
    expect(chooseDefaultCalendar(listed, `${HOME}work/`)).toEqual({ url: `${HOME}work/`, name: 'Work' });
  });

  it('matches the default URL with or without its trailing slash', () => {
    const listed = [cal('a'), cal('work', { name: 'Work' })];
    expect(chooseDefaultCalendar(listed, `${HOME}work`)).toEqual({ url: `${HOME}work/`, name: 'Work' });
  });

  it.each([
    ['a reminders list', cal('reminders', { components: ['VTODO'] })],
    ['read-only', cal('shared', { privileges: ['read'] })],
    ['a subscription', cal('holidays', { resourceTypes: ['collection', 'calendar', 'subscribed'] })],
  ])('ignores a server default that is %s and falls back to the first usable calendar', (_what, bad) => {
    const listed = [bad, cal('home', { name: 'Home' })];
    expect(chooseDefaultCalendar(listed, bad.url)).toEqual({ url: `${HOME}home/`, name: 'Home' });
  });

  it('ignores a server default that is not listed in the home', () => {
    const listed = [cal('b'), cal('a', { name: 'A' })];
    expect(chooseDefaultCalendar(listed, `${HOME}gone/`)).toEqual({ url: `${HOME}a/`, name: 'A' });
  });

  it('skips reminders, subscriptions, inbox/outbox/notification and read-only calendars', () => {
    const listed = [
      cal('', home()),
      cal('a-reminders', { components: ['VTODO'], order: 0 }),
      cal('b-holidays', { resourceTypes: ['collection', 'calendar', 'subscribed'], order: 0 }),
      cal('c-shared', { privileges: ['read'], order: 0 }),
      cal('inbox', { resourceTypes: ['collection', 'scheduleInbox'] }),
      cal('outbox', { resourceTypes: ['collection', 'scheduleOutbox'] }),
      cal('notification', { resourceTypes: ['collection', 'notification'] }),
      cal('z-home', { name: 'Home', order: 3 }),
    ];
    expect(chooseDefaultCalendar(listed)).toEqual({ url: `${HOME}z-home/`, name: 'Home' });
  });

  it('orders by calendar-order first (lowest wins), calendars without an order last', () => {
    const listed = [cal('a', { order: undefined }), cal('b', { order: 2 }), cal('c', { order: 1, name: 'C' })];
    expect(chooseDefaultCalendar(listed)).toEqual({ url: `${HOME}c/`, name: 'C' });
  });

  it('breaks ties (and no order at all) by URL', () => {
    expect(chooseDefaultCalendar([cal('m', { order: 1 }), cal('k', { order: 1, name: 'K' })])?.name).toBe('K');
    expect(chooseDefaultCalendar([cal('work'), cal('home', { name: 'Home' }), cal('kids')])?.name).toBe('Home');
  });

  it('is deterministic: the same calendars in any order give the same choice', () => {
    const listed = [cal('work', { order: 2 }), cal('home', { order: 2 }), cal('family'), cal('kids', { order: 2 }), cal('a-todo', { components: ['VTODO'], order: 0 })];
    const expected = chooseDefaultCalendar(listed);
    expect(expected?.url).toBe(`${HOME}home/`);
    for (let i = 0; i < 24; i++) {
      const shuffled = [...listed].sort(() => Math.random() - 0.5);
      expect(chooseDefaultCalendar(shuffled)).toEqual(expected);
    }
    // Every rotation, too (no reliance on the random shuffle above).
    for (let i = 0; i < listed.length; i++) expect(chooseDefaultCalendar([...listed.slice(i), ...listed.slice(0, i)])).toEqual(expected);
  });

  it('does not mutate the listing it is given', () => {
    const listed = [cal('b', { order: 2 }), cal('a', { order: 1 })];
    const copy = structuredClone(listed);
    chooseDefaultCalendar(listed);
    expect(listed).toEqual(copy);
  });

  it('returns undefined when nothing can hold events', () => {
    expect(chooseDefaultCalendar([])).toBeUndefined();
    expect(chooseDefaultCalendar([cal('reminders', { components: ['VTODO'] }), cal('inbox', { resourceTypes: ['collection', 'scheduleInbox'] })])).toBeUndefined();
    expect(chooseDefaultCalendar([cal('reminders', { components: ['VTODO'] })], `${HOME}reminders/`)).toBeUndefined();
  });
});
