"""A second implementation of busy expansion for the differential test: Debian's
python3-recurring-ical-events (RRULE, RDATE, EXDATE, RECURRENCE-ID) on python3-icalendar.
Reads [{"ics", "from", "to"}] (ms since the epoch) as JSON on stdin; writes, per case, the
[start, end] (ms) of every instance that is not TRANSPARENT or CANCELLED. Floating times and
dates are read as UTC (the test asks with timeZone=UTC)."""
import datetime
import json
import sys

import icalendar
import recurring_ical_events

UTC = datetime.timezone.utc


def ms(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return int(datetime.datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)


out = []
for case in json.load(sys.stdin):
    cal = icalendar.Calendar.from_ical(case["ics"])
    start = datetime.datetime.fromtimestamp(case["from"] / 1000, UTC)
    end = datetime.datetime.fromtimestamp(case["to"] / 1000, UTC)
    found = []
    for ev in recurring_ical_events.of(cal).between(start, end):
        if str(ev.get("TRANSP", "")).upper() == "TRANSPARENT" or str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        s = ms(ev["DTSTART"].dt)
        e = ms(ev["DTEND"].dt) if "DTEND" in ev else s + int(ev["DURATION"].dt.total_seconds() * 1000)
        found.append([s, e])
    out.append(found)
json.dump(out, sys.stdout)
