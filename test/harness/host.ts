import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { CalendarChange } from '../../shared/host-changes/calendar-change.js';
import type { Stack } from './stack.js';
import { until } from './wait.js';

/**
 * The host's side in tests of host-change detection: what the host does in Apple Calendar
 * (straight to the CalDAV server, as the Calendar app would), and what the booking service
 * receives on calendar-changes.fifo.
 */
export interface HostAuth {
  username: string;
  password: string;
}
const authHeader = (a: HostAuth) => ({ authorization: 'Basic ' + Buffer.from(`${a.username}:${a.password}`).toString('base64') });

/** The host deletes the event (Calendar app: Delete Event). */
export async function hostDeletes(url: string, auth: HostAuth): Promise<void> {
  const res = await fetch(url, { method: 'DELETE', headers: authHeader(auth) });
  if (res.status >= 300) throw new Error(`host DELETE ${url}: ${res.status}`);
}

/** The host edits the event's text: `edit` gets the stored iCalendar text and returns the new one. */
export async function hostEdits(url: string, auth: HostAuth, edit: (ics: string) => string): Promise<void> {
  const got = await fetch(url, { headers: authHeader(auth) });
  if (got.status !== 200) throw new Error(`host GET ${url}: ${got.status}`);
  const etag = got.headers.get('etag');
  const ics = await got.text();
  const res = await fetch(url, { method: 'PUT', headers: { ...authHeader(auth), 'content-type': 'text/calendar; charset=utf-8', ...(etag ? { 'if-match': etag } : {}) }, body: edit(ics) });
  if (res.status >= 300) throw new Error(`host PUT ${url}: ${res.status}`);
}

/** Unfolds, applies `fn` to each content line, folds nothing back (servers take long lines). */
const lines = (ics: string, fn: (line: string) => string) =>
  ics
    .replace(/\r?\n[ \t]/g, '')
    .split(/\r?\n/)
    .map(fn)
    .join('\r\n');

/** The host drags the event to other times (UTC, e.g. `20261201T160000Z`). */
export const moveTo = (start: string, end: string) => (ics: string) =>
  lines(ics, (l) => (/^DTSTART[;:]/.test(l) ? `DTSTART:${start}` : /^DTEND[;:]/.test(l) ? `DTEND:${end}` : l));
/** The host changes the title and notes only. */
export const retitle = (title: string) => (ics: string) =>
  lines(ics, (l) => (/^SUMMARY[;:]/.test(l) ? `SUMMARY:${title}` : /^DESCRIPTION[;:]/.test(l) ? `DESCRIPTION:${title} (notes edited)` : l));

/** Everything calendar-changes.fifo delivers, collected in the background (and deleted from the queue). */
export function collectReports(stack: Stack) {
  const received: Array<{ body: CalendarChange; groupId?: string; dedupId?: string; at: number }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const out = await stack.sqs
        .send(new ReceiveMessageCommand({ QueueUrl: stack.changesQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }))
        .catch(() => ({ Messages: [] }));
      const messages = out.Messages ?? [];
      for (const m of messages) received.push({ body: JSON.parse(m.Body!), groupId: m.Attributes?.MessageGroupId, dedupId: m.Attributes?.MessageDeduplicationId, at: Date.now() });
      if (messages.length)
        await stack.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: stack.changesQueueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  })();
  return {
    received,
    of: (account: string) => received.filter((r) => r.body.userId === account),
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Counts the host-change checks the stack ran for an account (its DEBUG log lines). */
export function checksOf(lines: () => Array<Record<string, unknown>>, account: string): number {
  return lines().filter((l) => l.message === 'host-change check' && l.accountId === account).length;
}

/** Waits until `n` more host-change checks of the account have run (the stack logs at DEBUG). */
export async function moreChecks(lines: () => Array<Record<string, unknown>>, account: string, n = 2, ms = 30_000): Promise<void> {
  const target = checksOf(lines, account) + n;
  await until(`${n} checks of ${account}`, () => checksOf(lines, account) >= target, ms);
}
