/**
 * Everything the page says about errors, as plain sentences, and where it says it.
 * Pure functions: no DOM, no network.
 */

export type ConnectField = 'appleId' | 'appSpecificPassword';

/** Where each message goes: next to a field, or at the top of the form. */
export interface FormErrors {
  appleId?: string;
  appSpecificPassword?: string;
  form?: string;
}

/** A failed API call as the page sees it (status 0: the request never got an answer). */
export interface ApiFailure {
  status: number;
  code: string;
  fields?: Record<string, string>;
  retryAfterSeconds?: number;
}

export const FORMAT_HINT = 'xxxx-xxxx-xxxx-xxxx';

const FIELD_SENTENCES: Record<ConnectField, string> = {
  appleId: 'Enter your Apple ID as an e-mail address, like name@icloud.com.',
  appSpecificPassword: `Enter the app-specific password as Apple shows it: 16 letters, like ${FORMAT_HINT}.`,
};

/** Maps a failed connect to messages next to the right field (the contract's error codes). */
export function connectErrors(failure: ApiFailure): FormErrors {
  switch (failure.code) {
    case 'invalid_credentials':
      return {
        appSpecificPassword:
          "iCloud didn't accept this Apple ID and app-specific password. Check the Apple ID, and use an app-specific password (not your Apple ID password) that hasn't been revoked.",
      };
    case 'invalid_request': {
      const out: FormErrors = {};
      for (const field of Object.keys(failure.fields ?? {})) {
        if (field === 'appleId' || field === 'appSpecificPassword') out[field] = FIELD_SENTENCES[field];
        else out.form = "The connector couldn't read this request. Reload the page and try again.";
      }
      return Object.keys(out).length ? out : { form: "The connector couldn't read this request. Reload the page and try again." };
    }
    case 'already_connected':
      return { appleId: 'Another Apple ID is already connected to this account. Disconnect it first, then connect this one.' };
    case 'too_many_attempts':
      return { form: `Too many attempts to connect in a short time. Wait ${waitFor(failure.retryAfterSeconds)} and try again.` };
    case 'calendar_unavailable':
      return { form: "iCloud can't be reached right now, so your Apple ID couldn't be checked. Try again in a few minutes." };
    case 'no_calendar':
      return {
        form: 'This iCloud account has no calendar that can hold events. Create a calendar in the Calendar app or at icloud.com, then try again.',
      };
    default:
      return { form: genericError(failure) };
  }
}

/** Errors of calls other than connect (loading the details, disconnecting). */
export function genericError(failure: Pick<ApiFailure, 'status' | 'code'>): string {
  if (failure.status === 0) return "The server couldn't be reached. Check your connection and try again.";
  if (failure.status === 401) return 'Your session has expired. Reload the page to sign in again.';
  return 'Something went wrong on our side. Try again in a few minutes.';
}

function waitFor(seconds: number | undefined): string {
  if (!seconds || !Number.isFinite(seconds) || seconds <= 0) return 'a few minutes';
  if (seconds < 60) return seconds === 1 ? '1 second' : `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** Apple's form of an app-specific password, or undefined (same rule as the connector). */
export function normalisePassword(input: string): string | undefined {
  const letters = input.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z]{16}$/.test(letters) ? letters.match(/.{4}/g)!.join('-') : undefined;
}

/** Client-side checks before anything is sent: format hints, never a request. */
export function validateConnect(appleId: string, password: string): FormErrors {
  const out: FormErrors = {};
  const id = validateAppleId(appleId);
  const pw = validatePassword(password);
  if (id) out.appleId = id;
  if (pw) out.appSpecificPassword = pw;
  return out;
}

export function validateAppleId(value: string): string | undefined {
  const v = value.trim();
  if (!v) return 'Enter your Apple ID: the e-mail address you sign in to iCloud with.';
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return FIELD_SENTENCES.appleId;
  return undefined;
}

export function validatePassword(value: string): string | undefined {
  if (!value.trim()) return 'Enter the app-specific password you created at appleid.apple.com.';
  if (normalisePassword(value)) return undefined;
  const compact = value.replace(/[\s-]/g, '');
  if (/[^a-zA-Z]/.test(compact)) return `An app-specific password has only letters, in four groups of four: ${FORMAT_HINT}.`;
  return `An app-specific password is 16 letters (${FORMAT_HINT}); this one has ${compact.length}.`;
}

const bookings = (n: number) => `${n} booking${n === 1 ? '' : 's'}`;

/** On a card that needs attention: how many bookings wait for the reconnect ("" when none). */
export function waitingBookings(pending: number): string {
  return pending > 0 ? `${bookings(pending)} ${pending === 1 ? 'is' : 'are'} waiting to be added. ` : '';
}

/** In the details: bookings not yet in the calendar, waiting or refused ("" when none). */
export function changesSummary(pending: number, failed: number): string {
  const parts = [];
  if (pending > 0) parts.push(`${bookings(pending)} waiting to be added`);
  if (failed > 0) parts.push(`${bookings(failed)} iCloud refused to save (tried again when the booking changes or you reconnect)`);
  return parts.join('; ');
}

/** Bookings the host changed in Apple Calendar, and that the booking service knows ("" when none). */
export function hostChangesSummary(changed: number | undefined): string {
  if (!changed) return '';
  return `${bookings(changed)} ${changed === 1 ? 'was' : 'were'} changed in Apple Calendar — the booking service was told`;
}

/** Outcome of the latest sync, in words. */
export function lastSyncOutcome(lastSync: { outcome: 'ok' | 'failed'; error?: string }): string {
  if (lastSync.outcome === 'ok') return 'Synced';
  switch (lastSync.error) {
    case 'credentials_rejected':
      return 'Failed: iCloud rejected the app-specific password.';
    case 'calendar_not_found':
      return 'Failed: the calendar was not found in iCloud. It may have been deleted.';
    case 'event_rejected':
    case 'calendar_rejected_event':
      return 'Failed: iCloud refused to save the booking.';
    case 'calendar_untrusted':
      return 'Failed: the calendar is on a server this connector does not trust. Reconnect.';
    default:
      return lastSync.error ? `Failed (${lastSync.error}).` : 'Failed.';
  }
}

/** Why the busy preview could not be shown (contract: busy-time errors). */
export function busyError(failure: Pick<ApiFailure, 'status' | 'code'>): string {
  if (failure.code === 'reconnect_required') return 'Busy times can’t be read: iCloud no longer accepts the app-specific password. Reconnect to fix it.';
  if (failure.code === 'calendar_unavailable') return 'Busy times can’t be read from iCloud right now. Try again in a minute.';
  return `Busy times couldn't be loaded. ${genericError(failure)}`;
}

/** The alert choices the details view offers (minutes before; `null`: none), as Apple Calendar's own menu has them. */
export const ALERT_CHOICES: Array<number | null> = [null, 0, 5, 10, 15, 30, 60, 120, 1440, 2880, 10080];

/** “None”, “At time of event”, “15 minutes before”, “1 hour before”, “2 days before”, “1 week before”. */
export function alertLabel(minutes: number | null): string {
  if (minutes === null) return 'None';
  if (minutes === 0) return 'At time of event';
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'} before`;
  if (minutes % 10080 === 0) return unit(minutes / 10080, 'week');
  if (minutes % 1440 === 0) return unit(minutes / 1440, 'day');
  if (minutes % 60 === 0) return unit(minutes / 60, 'hour');
  return unit(minutes, 'minute');
}

/** The chosen destination is gone or read-only: where bookings go meanwhile. */
export const destinationUnavailable = (chosen: string, fallback: string) =>
  `“${chosen}” is no longer one of your calendars you can write to (deleted, or shared with you read-only). New bookings go to “${fallback}” until you choose another calendar.`;
