/**
 * A second reading of an iCalendar object, by Debian's python3-icalendar (not the library
 * that wrote it): the first VEVENT's URL, DESCRIPTION, LOCATION and its VALARMs, as JSON.
 */
import { execFileSync } from 'node:child_process';

export interface PythonEventView {
  url: string | null;
  description: string | null;
  location: string | null;
  alarms: Array<{ action: string; triggerMinutesBefore: number; description: string | null }>;
}

const SCRIPT = `
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
ev = next(c for c in cal.walk() if c.name == 'VEVENT')
s = lambda v: None if v is None else str(v)
alarms = []
for a in ev.walk('VALARM'):
    t = a.decoded('TRIGGER')
    alarms.append({'action': str(a['ACTION']), 'triggerMinutesBefore': -t.total_seconds() / 60 + 0.0, 'description': s(a.get('DESCRIPTION'))})
print(json.dumps({'url': s(ev.get('URL')), 'description': s(ev.get('DESCRIPTION')), 'location': s(ev.get('LOCATION')), 'alarms': alarms}))
`;

export function readWithPython(ics: string): PythonEventView {
  // Debian's python3 (the one with python3-icalendar), not whatever python3 is first on PATH.
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', SCRIPT], { input: ics, encoding: 'utf8' })) as PythonEventView;
}
