import { describe, expect, it } from 'vitest';
import { destinationOf } from '../../shared/connection/destination.js';
import { parseSettings } from '../../shared/connection/settings.js';
import { DomainError } from '../../shared/errors.js';
import type { Connection } from '../../shared/store/connections.js';

const fieldsOf = (body: string) => {
  try {
    parseSettings(body);
  } catch (err) {
    return (err as DomainError).fields;
  }
  throw new Error('expected a 400');
};

describe('PATCH body', () => {
  it('takes any of the three settings; null turns the alert off', () => {
    expect(parseSettings('{"calendar":"https://h/1/calendars/work/"}')).toEqual({ calendar: 'https://h/1/calendars/work/' });
    expect(parseSettings('{"alertMinutesBefore":null,"conflictCalendars":[]}')).toEqual({ alertMinutesBefore: null, conflictCalendars: [] });
  });

  it('names every problem at once, never echoing a value', () => {
    expect(fieldsOf('{}')).toEqual({ body: expect.stringContaining('at least one') });
    expect(fieldsOf('[]')).toEqual({ body: 'must be a JSON object' });
    expect(fieldsOf('{"calendar":"","alertMinutesBefore":-1,"colour":"secret-value"}')).toEqual({
      calendar: 'must be a calendar URL',
      alertMinutesBefore: expect.stringContaining('0 to 10080'),
      colour: expect.stringContaining('is not a setting'),
    });
    expect(JSON.stringify(fieldsOf('{"colour":"secret-value"}'))).not.toContain('secret-value');
  });
});

describe('destination', () => {
  const base: Connection = {
    accountId: 'a', appleId: 'x@icloud.com', ciphertext: 'c', principalUrl: 'p', homeUrl: 'https://p02.example/1/calendars/', status: 'active',
    generation: 'g', connectedAt: 't', updatedAt: 't',
    calendarUrl: 'https://p02.example/1/calendars/home/', calendarName: 'Home',
    calendars: [
      { url: 'https://p02.example/1/calendars/home/', name: 'Home', checkedForConflicts: true, writable: true },
      { url: 'https://p02.example/1/calendars/work/', name: 'Work', checkedForConflicts: true, writable: true },
      { url: 'https://p02.example/1/calendars/team/', name: 'Team', checkedForConflicts: true, writable: false },
    ],
  };
  it('is the default calendar until one is chosen', () => {
    expect(destinationOf(base)).toEqual({ url: base.calendarUrl, name: 'Home' });
  });
  it('is the chosen calendar as listed now: after a partition move, on the new host', () => {
    expect(destinationOf({ ...base, destination: { url: 'https://p01.example/1/calendars/work/', name: 'Work' } })).toEqual({ url: 'https://p02.example/1/calendars/work/', name: 'Work' });
  });
  it('falls back to the default calendar, saying which was chosen, when that one is gone or read-only', () => {
    for (const chosen of [{ url: 'https://p02.example/1/calendars/gone/', name: 'Gone' }, { url: 'https://p02.example/1/calendars/team/', name: 'Team' }]) {
      expect(destinationOf({ ...base, destination: chosen })).toEqual({ url: base.calendarUrl, name: 'Home', unavailable: chosen });
    }
  });
});
