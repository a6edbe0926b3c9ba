/**
 * Dashboard → Integrations → Apple Calendar: the card, the connect modal, the details view
 * and disconnect, on the connector's public routes only.
 *
 * The app-specific password is read from its field when the form is sent, goes into that one
 * request and is cleared from the field when the request ends. It is never logged, stored
 * (no storage APIs, no URL) or kept in a variable beyond the request.
 */
import { ApiError, createApi, localTokenSource, type Details } from './api.js';
import { Modal } from './dialog.js';
import {
  ALERT_CHOICES,
  alertLabel,
  busyError,
  destinationUnavailable,
  connectErrors,
  genericError,
  changesSummary,
  hostChangesSummary,
  lastSyncOutcome,
  validateAppleId,
  validateConnect,
  validatePassword,
  waitingBookings,
  type ConnectField,
  type FormErrors,
} from './messages.js';

const APPLE_ID_MANAGE_URL = 'https://appleid.apple.com/account/manage';
const DEFAULT_USER = 'demo-user';

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from the page`);
  return found as T;
}

const params = new URLSearchParams(location.search);
const userId = (params.get('user') ?? '').trim() || DEFAULT_USER;
/** `?details=open` (the demo's link): the details view is open from the start. */
const detailsAtStart = params.get('details') === 'open';
// Locally the token comes from the local stack; a real dashboard passes its own TokenSource.
const api = createApi('', localTokenSource('', userId));

const ui = {
  accountId: el('account-id'),
  card: el('apple-card'),
  badge: el('status-badge'),
  badgeText: el('status-text'),
  summary: el('card-summary'),
  notice: el('card-notice'),
  cardError: el('card-error'),
  connectButton: el<HTMLButtonElement>('connect-button'),
  detailsButton: el<HTMLButtonElement>('details-button'),
  retryButton: el<HTMLButtonElement>('retry-button'),
  detailsPanel: el('details-panel'),
  detailAppleId: el('detail-apple-id'),
  detailCalendar: el('detail-calendar'),
  detailConnectedAt: el('detail-connected-at'),
  detailLastSync: el('detail-last-sync'),
  detailChangesRow: el('detail-changes-row'),
  detailChanges: el('detail-changes'),
  detailHostChangesRow: el('detail-host-changes-row'),
  detailHostChanges: el('detail-host-changes'),
  destinationSelect: el<HTMLSelectElement>('destination-select'),
  alertSelect: el<HTMLSelectElement>('alert-select'),
  destinationNotice: el('destination-notice'),
  settingsStatus: el('settings-status'),
  settingsError: el('settings-error'),
  calendarList: el('calendar-list'),
  calendarsError: el('calendars-error'),
  busyStatus: el('busy-status'),
  busyList: el('busy-list'),
  attention: el('attention'),
  attentionText: el('attention-text'),
  reconnectButton: el<HTMLButtonElement>('reconnect-button'),
  disconnectButton: el<HTMLButtonElement>('disconnect-button'),
  // Connect modal
  connectDialog: el<HTMLDialogElement>('connect-dialog'),
  form: el<HTMLFormElement>('connect-form'),
  connectTitle: el('connect-title'),
  connectReason: el('connect-reason'),
  formError: el('form-error'),
  appleId: el<HTMLInputElement>('apple-id'),
  appleIdError: el('apple-id-error'),
  password: el<HTMLInputElement>('app-password'),
  passwordError: el('app-password-error'),
  showPassword: el<HTMLInputElement>('show-password'),
  busy: el('connect-busy'),
  cancel: el<HTMLButtonElement>('connect-cancel'),
  submit: el<HTMLButtonElement>('connect-submit'),
  submitLabel: el('connect-submit-label'),
  // Disconnect confirmation
  disconnectDialog: el<HTMLDialogElement>('disconnect-dialog'),
  disconnectCalendar: el('disconnect-calendar'),
  disconnectError: el('disconnect-error'),
  disconnectCancel: el<HTMLButtonElement>('disconnect-cancel'),
  disconnectConfirm: el<HTMLButtonElement>('disconnect-confirm'),
};

const fields: Record<ConnectField, { input: HTMLInputElement; error: HTMLElement; hint: string; validate: (v: string) => string | undefined }> = {
  appleId: { input: ui.appleId, error: ui.appleIdError, hint: 'apple-id-hint', validate: validateAppleId },
  appSpecificPassword: { input: ui.password, error: ui.passwordError, hint: 'app-password-hint', validate: validatePassword },
};

let current: Details | undefined;
/** Bumped by every answer that renders: an older answer arriving late is dropped. */
let renderVersion = 0;
let inflight: AbortController | undefined;
let reconnecting = false;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function timeElement(iso: string): HTMLTimeElement {
  const t = document.createElement('time');
  t.dateTime = iso;
  const d = new Date(iso);
  t.textContent = Number.isNaN(d.getTime()) ? iso : dateFormat.format(d);
  return t;
}

// ---------------------------------------------------------------------------------------
// The card

function render(details: Details): void {
  const was = current?.status;
  current = details;
  ui.card.removeAttribute('aria-busy');
  ui.cardError.hidden = true;
  ui.retryButton.hidden = true;
  ui.badge.hidden = false;
  ui.badge.dataset.status = details.status;
  ui.badgeText.textContent = { active: 'Active', error: 'Needs attention', not_connected: 'Not connected' }[details.status];

  if (details.status === 'not_connected') {
    ui.summary.textContent = 'Connect your Apple ID to add new bookings to your iCloud calendar.';
    ui.connectButton.hidden = false;
    ui.detailsButton.hidden = true;
    setExpanded(false);
    return;
  }

  ui.connectButton.hidden = true;
  ui.detailsButton.hidden = false;
  const name = details.calendar.name;
  ui.summary.textContent =
    details.status === 'active'
      ? `Bookings are added to “${name}” (${details.appleId}).`
      : `Bookings for “${name}” are on hold: iCloud stopped accepting the app-specific password. ${waitingBookings(details.pendingChanges)}Reconnect to catch up.`;

  // What has not reached the calendar yet: waiting (held or being retried) and refused by iCloud.
  const changes = changesSummary(details.pendingChanges, details.failedChanges);
  ui.detailChangesRow.hidden = !changes;
  ui.detailChanges.textContent = changes;
  // What the host changed in Apple Calendar (deleted or moved): the booking service was told.
  const hostChanges = hostChangesSummary(details.hostChanges);
  ui.detailHostChangesRow.hidden = !hostChanges;
  ui.detailHostChanges.textContent = hostChanges;

  ui.detailAppleId.textContent = details.appleId;
  ui.detailCalendar.textContent = name;
  ui.detailConnectedAt.replaceChildren(timeElement(details.connectedAt));
  ui.disconnectCalendar.textContent = `“${name}”`;

  if (!details.lastSync) {
    ui.detailLastSync.textContent = 'No booking synced yet.';
  } else {
    const outcome = document.createElement('span');
    outcome.className = `outcome outcome--${details.lastSync.outcome}`;
    outcome.textContent = lastSyncOutcome(details.lastSync);
    ui.detailLastSync.replaceChildren(timeElement(details.lastSync.at), document.createTextNode(' — '), outcome);
  }

  ui.attention.hidden = details.status !== 'error';
  ui.attentionText.textContent =
    details.lastSync?.error === 'credentials_rejected'
      ? 'The app-specific password was revoked, or your Apple ID password changed (which revokes them all). Create a new one at appleid.apple.com and reconnect: bookings made in the meantime are added then.'
      : 'The connection to iCloud stopped working. Reconnect with a new app-specific password.';

  renderSettings(details);
  renderCalendars(details);

  // A connection that just started needing attention opens its details, so the fix is in sight.
  if (details.status === 'error' && was !== 'error') setExpanded(true);
  else if (detailsAtStart && was === undefined) setExpanded(true);
  else if (!ui.detailsPanel.hidden) void loadBusy();
}

function setExpanded(open: boolean): void {
  const wasOpen = !ui.detailsPanel.hidden;
  ui.detailsButton.setAttribute('aria-expanded', String(open));
  ui.detailsPanel.hidden = !open;
  if (open && !wasOpen) void loadBusy();
}

// ---------------------------------------------------------------------------------------
// Calendars checked for conflicts, and the busy preview

type Connected = Exclude<Details, { status: 'not_connected' }>;
let busyVersion = 0;
let choosing = false;

function renderCalendars(details: Connected): void {
  ui.calendarsError.hidden = true;
  ui.calendarList.replaceChildren(
    ...details.calendars.map((c) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.textContent = c.name;
      const tag = (text: string, muted = false) => {
        const t = document.createElement('span');
        t.className = muted ? 'tag tag--muted' : 'tag';
        t.textContent = text;
        name.append(t);
      };
      if (c.url === details.calendar.url) tag('bookings go here');
      if (!c.writable) tag('read-only', true);
      const label = document.createElement('label');
      label.className = 'checkbox';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = c.checkedForConflicts;
      box.dataset.url = c.url;
      box.setAttribute('aria-label', `Check “${c.name}” for conflicts`);
      box.addEventListener('change', () => void chooseCalendars(box));
      label.append(box, document.createTextNode(' Check for conflicts'));
      li.append(name, label);
      return li;
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Where new bookings go, and their alert

/**
 * Settings changes go one after another, in the order they were made (a keyboard user steps
 * through a list, one change per key); the answer is shown once the last one is in, so the
 * control is never reset under the user's hands.
 */
let settingsChain: Promise<void> = Promise.resolve();
let settingsQueued = 0;

function option(value: string, label: string, selected: boolean): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  o.selected = selected;
  return o;
}

function renderSettings(details: Connected): void {
  // Changes still on their way: the controls show what the user chose; the last answer renders.
  if (settingsQueued > 0) return;
  const writable = details.calendars.filter((c) => c.writable);
  ui.destinationSelect.replaceChildren(...writable.map((c) => option(c.url, c.name, c.url === details.calendar.url)));
  const alert = details.alertMinutesBefore ?? null;
  const choices = ALERT_CHOICES.includes(alert) ? ALERT_CHOICES : [...ALERT_CHOICES, alert].sort((a, b) => (a ?? -1) - (b ?? -1));
  ui.alertSelect.replaceChildren(...choices.map((m) => option(m === null ? '' : String(m), alertLabel(m), m === alert)));
  const gone = details.destinationUnavailable;
  ui.destinationNotice.hidden = !gone;
  ui.destinationNotice.textContent = gone ? destinationUnavailable(gone.name, details.calendar.name) : '';
}

function saveSetting(control: HTMLSelectElement, body: { calendar?: string; alertMinutesBefore?: number | null }, what: string): void {
  settingsQueued++;
  settingsChain = settingsChain.then(async () => {
    control.setAttribute('aria-busy', 'true');
    ui.settingsError.hidden = true;
    try {
      const details = await api.updateSettings(body);
      if (--settingsQueued > 0) return;
      ++renderVersion;
      render(details);
      if (details.status !== 'not_connected') {
        ui.settingsStatus.textContent = body.calendar !== undefined ? `New bookings go to “${details.calendar.name}”.` : `Alert: ${alertLabel(details.alertMinutesBefore ?? null)}.`;
      }
    } catch (err) {
      settingsQueued--;
      ui.settingsError.textContent = `Couldn't change ${what}. ${genericError(asFailure(err))}`;
      ui.settingsError.hidden = false;
      if (current && current.status !== 'not_connected') renderSettings(current);
    } finally {
      control.removeAttribute('aria-busy');
    }
  });
}

ui.destinationSelect.addEventListener('change', () => saveSetting(ui.destinationSelect, { calendar: ui.destinationSelect.value }, 'where bookings go'));
ui.alertSelect.addEventListener('change', () =>
  saveSetting(ui.alertSelect, { alertMinutesBefore: ui.alertSelect.value === '' ? null : Number(ui.alertSelect.value) }, 'the alert'),
);

async function chooseCalendars(changed: HTMLInputElement): Promise<void> {
  const boxes = [...ui.calendarList.querySelectorAll<HTMLInputElement>('input[type=checkbox]')];
  if (choosing) {
    changed.checked = !changed.checked;
    return;
  }
  choosing = true;
  for (const b of boxes) b.setAttribute('aria-disabled', 'true');
  ui.calendarsError.hidden = true;
  try {
    const details = await api.chooseCalendars(boxes.filter((b) => b.checked).map((b) => b.dataset.url!));
    ++renderVersion;
    render(details);
    ui.calendarList.querySelector<HTMLInputElement>(`input[data-url="${CSS.escape(changed.dataset.url!)}"]`)?.focus();
    void loadBusy();
  } catch (err) {
    changed.checked = !changed.checked;
    ui.calendarsError.textContent = `Couldn't change the calendars checked for conflicts. ${genericError(asFailure(err))}`;
    ui.calendarsError.hidden = false;
  } finally {
    choosing = false;
    for (const b of ui.calendarList.querySelectorAll<HTMLInputElement>('input[type=checkbox]')) b.removeAttribute('aria-disabled');
  }
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

async function loadBusy(): Promise<void> {
  if (!current || current.status === 'not_connected') return;
  const version = ++busyVersion;
  ui.busyStatus.textContent = 'Loading busy times…';
  const from = new Date();
  const to = new Date(from.getTime() + 7 * 86_400_000);
  try {
    const answer = await api.busy(from, to, Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
    if (version !== busyVersion) return;
    ui.busyList.replaceChildren(
      ...answer.busy.map((b) => {
        const li = document.createElement('li');
        const start = new Date(b.start);
        const end = new Date(b.end);
        const sameDay = dayFormat.format(start) === dayFormat.format(end);
        li.append(timeElement(b.start), document.createTextNode(' – '));
        const until = document.createElement('time');
        until.dateTime = b.end;
        until.textContent = sameDay ? clockFormat.format(end) : `${dayFormat.format(end)}, ${clockFormat.format(end)}`;
        li.append(until);
        return li;
      }),
    );
    ui.busyStatus.textContent = answer.busy.length ? `${answer.busy.length} busy ${answer.busy.length === 1 ? 'time' : 'times'}.` : 'No busy times in the next 7 days.';
  } catch (err) {
    if (version !== busyVersion) return;
    ui.busyList.replaceChildren();
    ui.busyStatus.textContent = busyError(asFailure(err));
  }
}

function say(...parts: Array<string | Node>): void {
  ui.notice.replaceChildren(...parts);
}

function showCardError(message: string, retry: boolean): void {
  ui.card.removeAttribute('aria-busy');
  ui.cardError.textContent = message;
  ui.cardError.hidden = false;
  ui.retryButton.hidden = !retry;
}

async function refresh(): Promise<void> {
  const version = ++renderVersion;
  try {
    const details = await api.details();
    if (version === renderVersion) render(details);
  } catch (err) {
    if (version !== renderVersion) return;
    if (!current) ui.summary.textContent = '';
    showCardError(`Couldn't load the Apple Calendar connection. ${genericError(asFailure(err))}`, true);
  }
}

function asFailure(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'network_error', 'No answer');
}

// ---------------------------------------------------------------------------------------
// Connect modal

const connectModal = new Modal(ui.connectDialog, () => {
  // Closed (Connect succeeded, Cancel or Escape): nothing typed stays behind.
  const wasBusy = inflight !== undefined;
  inflight?.abort();
  inflight = undefined;
  resetForm();
  // A connect cancelled mid-flight may still have completed on the server.
  if (wasBusy) void refresh();
});

function openConnect(opener: HTMLElement, appleId?: string): void {
  resetForm();
  reconnecting = appleId !== undefined;
  ui.connectTitle.textContent = reconnecting ? 'Reconnect Apple Calendar' : 'Connect Apple Calendar';
  ui.submitLabel.textContent = reconnecting ? 'Reconnect' : 'Connect';
  ui.connectReason.hidden = !(reconnecting && current?.status === 'error');
  ui.appleId.value = appleId ?? '';
  say();
  connectModal.open(appleId ? ui.password : ui.appleId, opener);
}

function resetForm(): void {
  setBusy(false);
  ui.password.value = '';
  ui.password.type = 'password';
  ui.showPassword.checked = false;
  showErrors({}, false);
}

function setBusy(busy: boolean): void {
  ui.form.setAttribute('aria-busy', String(busy));
  ui.form.classList.toggle('is-busy', busy);
  // aria-disabled, not disabled: the focused button keeps focus (and the focus trap holds).
  ui.submit.setAttribute('aria-disabled', String(busy));
  ui.appleId.readOnly = busy;
  ui.password.readOnly = busy;
  ui.submitLabel.textContent = busy ? 'Checking…' : reconnecting ? 'Reconnect' : 'Connect';
  ui.busy.textContent = busy ? 'Checking your Apple ID and app-specific password with iCloud…' : '';
}

function setFieldError(field: ConnectField, message: string | undefined): void {
  const { input, error, hint } = fields[field];
  error.textContent = message ?? '';
  error.hidden = !message;
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', `${hint} ${error.id}`);
  } else {
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', hint);
  }
}

/** Shows each message where it belongs and moves focus to the first one. */
function showErrors(errors: FormErrors, focus = true): void {
  setFieldError('appleId', errors.appleId);
  setFieldError('appSpecificPassword', errors.appSpecificPassword);
  ui.formError.textContent = errors.form ?? '';
  ui.formError.hidden = !errors.form;
  if (!focus) return;
  if (errors.appleId) ui.appleId.focus();
  else if (errors.appSpecificPassword) ui.password.focus();
  else if (errors.form) ui.formError.focus();
}

for (const [name, field] of Object.entries(fields) as Array<[ConnectField, (typeof fields)[ConnectField]]>) {
  // Format hints: checked when leaving a filled field; a shown error clears as soon as it is fixed.
  field.input.addEventListener('blur', () => {
    if (!ui.connectDialog.open || ui.form.classList.contains('is-busy') || !field.input.value) return;
    setFieldError(name, field.validate(field.input.value));
  });
  field.input.addEventListener('input', () => {
    if (!field.error.hidden && !field.validate(field.input.value)) setFieldError(name, undefined);
    if (!ui.formError.hidden) {
      ui.formError.hidden = true;
      ui.formError.textContent = '';
    }
  });
}

ui.showPassword.addEventListener('change', () => {
  ui.password.type = ui.showPassword.checked ? 'text' : 'password';
});

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  void submitConnect();
});

async function submitConnect(): Promise<void> {
  if (inflight) return;
  const appleId = ui.appleId.value.trim();
  const invalid = validateConnect(appleId, ui.password.value);
  if (invalid.appleId || invalid.appSpecificPassword) return showErrors(invalid);
  showErrors({}, false);
  const controller = new AbortController();
  inflight = controller;
  setBusy(true);
  const version = ++renderVersion;
  try {
    const details = await api.connect(appleId, ui.password.value, controller.signal);
    ui.password.value = '';
    inflight = undefined;
    // The connect answer is always shown (focus moves to a control it reveals); a refresh
    // that started meanwhile may know more, so it is asked again and wins if newer.
    const superseded = version !== renderVersion;
    ++renderVersion;
    render(details);
    if (superseded) void refresh();
    if (details.status !== 'not_connected') say(`Apple Calendar is connected. New bookings will be added to “${details.calendar.name}”.`);
    connectModal.close(ui.detailsButton);
  } catch (err) {
    ui.password.value = '';
    if (controller.signal.aborted) return;
    inflight = undefined;
    setBusy(false);
    const failure = asFailure(err);
    showErrors(connectErrors(failure));
    // Another Apple ID is connected (maybe from another tab): show it on the card.
    if (failure.code === 'already_connected') void refresh();
  } finally {
    if (inflight === controller) inflight = undefined;
  }
}

ui.cancel.addEventListener('click', () => connectModal.close());

// ---------------------------------------------------------------------------------------
// Card actions, details and disconnect

ui.connectButton.addEventListener('click', () => openConnect(ui.connectButton));

ui.detailsButton.addEventListener('click', () => {
  const open = ui.detailsButton.getAttribute('aria-expanded') !== 'true';
  setExpanded(open);
  if (open) void refresh();
});

ui.reconnectButton.addEventListener('click', () => {
  if (current && current.status !== 'not_connected') openConnect(ui.reconnectButton, current.appleId);
});

ui.retryButton.addEventListener('click', () => {
  ui.cardError.hidden = true;
  void refresh();
});

const disconnectModal = new Modal(ui.disconnectDialog, () => {
  ui.disconnectError.hidden = true;
  ui.disconnectConfirm.removeAttribute('aria-disabled');
});

ui.disconnectButton.addEventListener('click', () => {
  ui.disconnectError.hidden = true;
  disconnectModal.open(ui.disconnectCancel, ui.disconnectButton);
});

ui.disconnectCancel.addEventListener('click', () => disconnectModal.close());

ui.disconnectConfirm.addEventListener('click', async () => {
  if (ui.disconnectConfirm.getAttribute('aria-disabled') === 'true') return;
  ui.disconnectConfirm.setAttribute('aria-disabled', 'true');
  ui.disconnectError.hidden = true;
  try {
    await api.disconnect();
  } catch (err) {
    ui.disconnectConfirm.removeAttribute('aria-disabled');
    ui.disconnectError.textContent = `Couldn't disconnect. ${genericError(asFailure(err))}`;
    ui.disconnectError.hidden = false;
    return;
  }
  ++renderVersion;
  render({ status: 'not_connected' });
  const link = document.createElement('a');
  link.href = APPLE_ID_MANAGE_URL;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.textContent = 'appleid.apple.com';
  say(
    'Apple Calendar is disconnected and this app no longer has the app-specific password. Events already in your calendar stay there. You can also revoke the password at ',
    link,
    ' (Sign-In and Security → App-Specific Passwords).',
  );
  disconnectModal.close(ui.connectButton);
});

// Coming back to the tab: the connection may have changed (a sync failed, another tab).
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !connectModal.isOpen && !disconnectModal.isOpen) void refresh();
});

ui.accountId.textContent = userId;
void refresh();
