/**
 * The dashboard page end to end: headless Chromium → the local stack's HTTP API → a real
 * Radicale. Screenshots of each state go to test-results/screenshots/ (git-ignored); the
 * connected details view is also copied to docs/dashboard.png for the README when
 * UPDATE_SCREENSHOTS=1 (so a test run leaves the work tree clean).
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/stack.js';
import { PAGE_SECURITY_HEADERS } from '../../dashboard/serve.js';
import { bookingEvent, sqsEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { focused, focusVisible, launchBrowser, pageState, screenshot, watchConsole, type Browser } from './browser.js';

const ANN = 'ann@example.com';
const KAY = 'kay@example.com';
const DAN = 'dan@example.com'; // the keyboard test's own Apple ID (KAY gets locked out by the limit test)
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const WRONG_PASSWORD = 'wxyz-wxyz-wxyz-wxyz';
const NEW_PASSWORD = 'qrst-uvwx-yzab-cdef';
const MANAGE_URL = 'https://appleid.apple.com/account/manage';

let radicale: RadicaleServer;
let browser: Browser;
let stack: Awaited<ReturnType<typeof startLocalStack>>;

beforeAll(async () => {
  const server = startRadicale({
    users: { [ANN]: PASSWORD, [KAY]: PASSWORD, [DAN]: PASSWORD, [BOB]: PASSWORD, [CAROL]: PASSWORD },
    // Carol has only a Reminders-style list: no calendar that can hold events.
    calendars: { [CAROL]: [{ slug: 'tasks', displayName: 'Tasks', components: ['VTODO'] }] },
  }).then((r) => (radicale = r));
  const started = server
    .then((r) => startLocalStack({ port: 0, sqsPort: 0, persist: false, poll: true, sweep: false, dataDir: mkdtempSync(join(tmpdir(), 'dashboard-e2e-')), caldavServerUrl: r.url }))
    .then((s) => (stack = s));
  // Set as each one is up, so afterAll stops whatever started even if another failed.
  await Promise.all([started, launchBrowser().then((b) => (browser = b))]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await radicale?.stop();
});

const api = async (method: string, account: string, body?: unknown) => {
  const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
    method,
    headers: { authorization: `Bearer ${await stack.token(account)}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
};

async function openPage(account: string) {
  const page = await browser.context.newPage();
  const console = watchConsole(page);
  const posts: Request[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') posts.push(r);
  });
  await gotoAccount(page, account);
  return { page, console, posts };
}

async function gotoAccount(page: Page, account: string) {
  await page.goto(`${stack.url}/?user=${encodeURIComponent(account)}`);
  await page.locator('#status-badge').waitFor({ state: 'visible' });
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim();
const state = pageState;
const dialogOpen = (page: Page, id = 'connect-dialog') => page.evaluate((i) => (document.getElementById(i) as HTMLDialogElement).open, id);
const formIdle = (page: Page) => page.waitForFunction(() => document.getElementById('connect-form')?.getAttribute('aria-busy') !== 'true');

/** Fills and sends the open connect form with the mouse, then waits for the answer. */
async function submitConnect(page: Page, appleId: string, password: string) {
  await page.fill('#apple-id', appleId);
  await page.fill('#app-password', password);
  await page.click('#connect-submit');
  await formIdle(page);
}

describe('dashboard page', () => {
  it('is served with a strict CSP and no inline script; /local/token answers only local pages', async () => {
    const res = await fetch(`${stack.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i); // every script is a file
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
    expect(html).not.toMatch(/\sstyle=/i);

    const js = await fetch(`${stack.url}/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(PAGE_SECURITY_HEADERS['content-security-policy']);
    expect(await js.text()).not.toMatch(/console\.|localStorage|sessionStorage|indexedDB|document\.cookie/);
    expect((await fetch(`${stack.url}/nothing-here`)).status).toBe(404);

    // The local token route: a token for the account in the query, accepted by the API.
    const tok = await fetch(`${stack.url}/local/token?user=e2e-headers`);
    expect(tok.status).toBe(200);
    expect(tok.headers.get('cache-control')).toBe('no-store');
    const { token } = (await tok.json()) as { token: string };
    const details = await fetch(`${stack.url}/integrations/apple-calendar`, { headers: { authorization: `Bearer ${token}` } });
    expect(await details.json()).toEqual({ status: 'not_connected' });
    expect((await fetch(`${stack.url}/local/token?user=`)).status).toBe(400);
    expect((await fetch(`${stack.url}/local/token?user=${'x'.repeat(200)}`)).status).toBe(400);
    expect((await fetch(`${stack.url}/local/token?user=a`, { method: 'POST' })).status).toBe(404);
    // Not for other sites' pages, nor for a rebound DNS name.
    expect((await fetch(`${stack.url}/local/token?user=a`, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect(await rawGet(`${stack.url}/local/token?user=a`, { host: 'attacker.example:80' })).toBe(403);
  });

  it('connect with a wrong password, connect, revoke + sync → needs attention, reconnect, disconnect', async () => {
    const account = 'e2e-flow';
    const { page, console, posts } = await openPage(account);

    // Not connected.
    expect(await state(page)).toMatchObject({ badge: 'Not connected', connectButton: true, detailsButton: false, summary: expect.stringContaining('Connect your Apple ID') });
    await screenshot(page, '01-not-connected');

    // The modal: why an app-specific password, the link and steps to make one, the format hint.
    await page.click('#connect-button');
    expect(await state(page)).toMatchObject({ connectDialog: true, title: 'Connect Apple Calendar', focus: '#apple-id', formError: null });
    const modal = await page.evaluate(() => ({
      intro: document.getElementById('connect-intro')!.textContent!.replace(/\s+/g, ' '),
      links: Array.from(document.querySelectorAll('#connect-dialog a[href]')).map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel') })),
      steps: document.querySelectorAll('#connect-dialog ol.steps li').length,
      hint: document.getElementById('app-password-hint')!.textContent,
      placeholder: document.getElementById('app-password')!.getAttribute('placeholder'),
      labels: Array.from(document.querySelectorAll<HTMLInputElement>('#connect-dialog input')).map((i) => i.labels?.[0]?.textContent?.trim()),
    }));
    expect(modal.intro).toMatch(/OAuth.*Instead.*app-specific password/);
    expect(modal.links).toEqual([{ href: MANAGE_URL, rel: 'noopener noreferrer' }]);
    expect(modal.steps).toBe(4);
    expect(modal.hint).toContain('xxxx-xxxx-xxxx-xxxx');
    expect(modal.placeholder).toBe('xxxx-xxxx-xxxx-xxxx');
    expect(modal.labels).toEqual(['Apple ID', 'App-specific password', 'Show password']);
    await screenshot(page, '02-connect-modal');

    // Wrong password: iCloud (here Radicale) says no; the sentence sits next to the password field.
    await submitConnect(page, ANN, WRONG_PASSWORD);
    expect(await state(page)).toMatchObject({
      connectDialog: true,
      passwordError: expect.stringMatching(/^iCloud didn't accept this Apple ID and app-specific password/),
      passwordInvalid: true,
      appleIdError: null,
      formError: null,
      focus: '#app-password',
      password: '', // not kept beyond the request
      appleId: ANN,
    });
    expect(await page.getAttribute('#app-password', 'aria-describedby')).toBe('app-password-hint app-password-error');
    await screenshot(page, '03-wrong-password');

    // The right password (pasted in Apple's style with spaces); the request is held to see the busy state.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/integrations/apple-calendar', async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    await page.fill('#app-password', 'ABCD EFGH IJKL MNOP');
    await page.click('#connect-submit');
    expect(await state(page)).toMatchObject({ busy: true, connectDialog: true, passwordError: null });
    expect(
      await page.evaluate(() => ({
        button: document.getElementById('connect-submit')!.textContent,
        disabled: document.getElementById('connect-submit')!.getAttribute('aria-disabled'),
        status: document.getElementById('connect-busy')!.textContent,
        readOnly: (document.getElementById('app-password') as HTMLInputElement).readOnly,
      })),
    ).toEqual({ button: 'Checking…', disabled: 'true', status: 'Checking your Apple ID and app-specific password with iCloud…', readOnly: true });
    await page.click('#connect-submit', { force: true }); // a second click while busy sends nothing
    await screenshot(page, '04-checking');
    release();
    await page.locator('#connect-dialog').waitFor({ state: 'hidden' });
    await page.unrouteAll();

    expect(await state(page)).toMatchObject({
      badge: 'Active',
      summary: `Bookings are added to “Home” (${ANN}).`,
      notice: 'Apple Calendar is connected. New bookings will be added to “Home”.',
      connectButton: false,
      detailsButton: true,
      focus: '#details-button',
      password: '',
    });
    await screenshot(page, '05-connected');

    // Details: Apple ID, calendar name, connected since, last sync.
    await page.click('#details-button');
    expect(await state(page)).toMatchObject({
      expanded: true,
      appleIdDetail: ANN,
      calendarDetail: 'Home',
      connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastSync: 'No booking synced yet.',
      reconnect: false,
    });
    const shot = await screenshot(page, '06-details');
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync('docs', { recursive: true });
      copyFileSync(shot, 'docs/dashboard.png');
    }

    // Revoke the password on the server, then a booking arrives: the connection needs attention.
    const calendarPath = new URL((await api('GET', account)).body.calendar.url).pathname;
    await radicale.setPassword(ANN, 'revoked-password');
    await stack.syncHandler(sqsEvent([bookingEvent('confirmed', account, 'bk_e2e', 0, { title: 'Held while revoked' })]));
    await page.reload();
    await page.locator('#status-badge').waitFor({ state: 'visible' });
    expect(await state(page)).toMatchObject({
      badge: 'Needs attention',
      expanded: true, // opened, so the fix is in sight
      summary: expect.stringContaining('on hold'),
      lastSync: expect.stringMatching(/ — Failed: iCloud rejected the app-specific password\.$/),
      reconnect: true,
    });
    // How many bookings wait for the reconnect, on the card and in the details.
    expect(await text(page, '#card-summary')).toContain('1 booking is waiting to be added.');
    expect(await text(page, '#detail-changes')).toBe('1 booking waiting to be added');
    await screenshot(page, '07-needs-attention');

    // Reconnect: the modal again with the Apple ID filled in and focus on the password.
    await radicale.setPassword(ANN, NEW_PASSWORD);
    await page.click('#reconnect-button');
    expect(await state(page)).toMatchObject({ connectDialog: true, title: 'Reconnect Apple Calendar', appleId: ANN, password: '', focus: '#app-password' });
    expect(await page.isVisible('#connect-reason')).toBe(true);
    await screenshot(page, '08-reconnect-modal');
    await page.fill('#app-password', NEW_PASSWORD);
    await page.click('#connect-submit');
    await page.locator('#connect-dialog').waitFor({ state: 'hidden' });
    expect(await state(page)).toMatchObject({ badge: 'Active', reconnect: false, focus: '#details-button' });
    // The booking held while the password was revoked goes back on the queue and is written within seconds.
    for (let i = 0; (await api('GET', account)).body.pendingChanges > 0; i++) {
      if (i > 100) throw new Error('the held booking was not written after the reconnect');
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.reload();
    await page.locator('#status-badge').waitFor({ state: 'visible' });
    await page.click('#details-button');
    expect(await state(page)).toMatchObject({ badge: 'Active', lastSync: expect.stringMatching(/ — Synced$/) });
    expect(await page.isVisible('#detail-changes-row')).toBe(false);
    const events = [...(await readCalendar(`${radicale.url}${calendarPath}`, { username: ANN, password: NEW_PASSWORD })).values()];
    expect(events.filter((e) => e.includes('Held while revoked'))).toHaveLength(1);
    await screenshot(page, '09-reconnected');

    // Disconnect: a confirmation (with the appleid.apple.com reminder), then back to Connect.
    await page.click('#disconnect-button');
    expect(await state(page)).toMatchObject({ disconnectDialog: true, focus: '#disconnect-cancel' });
    expect(await text(page, '#disconnect-text')).toContain('revoke the password itself at appleid.apple.com');
    await screenshot(page, '10-disconnect-confirm');
    await page.click('#disconnect-confirm');
    await page.locator('#disconnect-dialog').waitFor({ state: 'hidden' });
    expect(await state(page)).toMatchObject({
      badge: 'Not connected',
      connectButton: true,
      detailsButton: false,
      appleIdDetail: null,
      focus: '#connect-button',
      notice: expect.stringMatching(/disconnected.*You can also revoke the password at appleid\.apple\.com/),
    });
    expect(await page.getAttribute('#card-notice a', 'href')).toBe(MANAGE_URL);
    await screenshot(page, '11-disconnected');
    expect((await api('GET', account)).body).toEqual({ status: 'not_connected' });

    // The password went out only in the connect requests' bodies, next to the bearer token.
    expect(posts).toHaveLength(3);
    for (const p of posts) {
      expect(p.headers().authorization).toMatch(/^Bearer /);
      expect(Object.keys(p.postDataJSON()).sort()).toEqual(['appSpecificPassword', 'appleId']);
    }
    const leftovers = await page.evaluate(() => ({
      url: location.href,
      storage: localStorage.length + sessionStorage.length,
      cookie: document.cookie,
      inputs: Array.from(document.querySelectorAll('input')).map((i) => i.value),
      resources: performance.getEntriesByType('resource').map((e) => e.name),
    }));
    expect(leftovers.storage).toBe(0);
    expect(leftovers.cookie).toBe('');
    for (const secret of [PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, 'ABCD EFGH IJKL MNOP']) {
      expect(JSON.stringify(leftovers)).not.toContain(secret);
      expect(JSON.stringify(console.messages)).not.toContain(secret);
    }
    expect(console.errors()).toEqual([]); // no CSP violation, no script error
    await page.close();
  });

  it('each contract error is a plain sentence next to the right field', async () => {
    const { page, console } = await openPage('e2e-errors');

    // already_connected (real): another tab connected Bob meanwhile; this one tries Kay.
    expect((await api('POST', 'e2e-errors', { appleId: BOB, appSpecificPassword: PASSWORD })).status).toBe(201);
    await page.click('#connect-button');
    await submitConnect(page, KAY, PASSWORD);
    expect(await state(page)).toMatchObject({
      appleIdError: 'Another Apple ID is already connected to this account. Disconnect it first, then connect this one.',
      appleIdInvalid: true,
      passwordError: null,
      formError: null,
      focus: '#apple-id',
    });
    await screenshot(page, '12-already-connected');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.getElementById('status-text')?.textContent === 'Active');
    expect((await state(page)).summary).toContain(BOB); // the card caught up

    // too_many_attempts (real): five rejected logins, then the next attempt is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await api('POST', 'e2e-limit', { appleId: KAY, appSpecificPassword: WRONG_PASSWORD })).status);
    expect(statuses).toEqual([422, 422, 422, 422, 422]);
    await gotoAccount(page, 'e2e-limit');
    await page.click('#connect-button');
    await submitConnect(page, KAY, PASSWORD);
    expect(await state(page)).toMatchObject({
      formError: 'Too many attempts to connect in a short time. Wait 15 minutes and try again.',
      focus: '#form-error',
      appleIdError: null,
      passwordError: null,
      badge: 'Not connected',
    });
    await screenshot(page, '13-too-many-attempts');

    // no_calendar (real): Carol has only a task list.
    await gotoAccount(page, 'e2e-nocal');
    await page.click('#connect-button');
    await submitConnect(page, CAROL, PASSWORD);
    expect(await state(page)).toMatchObject({ formError: expect.stringMatching(/^This iCloud account has no calendar that can hold events/), focus: '#form-error' });

    // calendar_unavailable, invalid_request and a 500: the contract's answers, played by the browser.
    const answers = [
      { status: 502, body: { error: { code: 'calendar_unavailable', message: 'x' } } },
      { status: 400, body: { error: { code: 'invalid_request', message: 'x', fields: { appleId: 'must be an e-mail address', appSpecificPassword: 'must be 16 letters' } } } },
      { status: 400, body: { error: { code: 'invalid_request', message: 'x', fields: { body: 'must be a JSON object' } } } },
      { status: 500, body: { error: { code: 'internal_error', message: 'x' } } },
    ];
    let next = 0;
    await page.route('**/integrations/apple-calendar', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const a = answers[next++]!;
      await route.fulfill({ status: a.status, contentType: 'application/json', body: JSON.stringify(a.body) });
    });
    await submitConnect(page, KAY, PASSWORD);
    expect(await state(page)).toMatchObject({ formError: expect.stringMatching(/^iCloud can't be reached right now/), appleIdError: null, passwordError: null });
    await submitConnect(page, KAY, PASSWORD);
    expect(await state(page)).toMatchObject({
      formError: null,
      appleIdError: 'Enter your Apple ID as an e-mail address, like name@icloud.com.',
      passwordError: 'Enter the app-specific password as Apple shows it: 16 letters, like xxxx-xxxx-xxxx-xxxx.',
      focus: '#apple-id',
    });
    await submitConnect(page, KAY, PASSWORD);
    expect((await state(page)).formError).toMatch(/couldn't read this request/);
    await submitConnect(page, KAY, PASSWORD);
    expect((await state(page)).formError).toMatch(/^Something went wrong on our side/);
    expect(next).toBe(4);
    expect(console.errors()).toEqual([]);
    await page.close();
  });

  it('keyboard only: tab order, focus trap, Escape closes, Enter submits, visible focus', async () => {
    const { page, console, posts } = await openPage('e2e-keyboard');
    const key = async (k: string) => {
      await page.keyboard.press(k);
      return focused(page);
    };

    // The first Tab stop of the page is the card's action.
    expect(await key('Tab')).toBe('#connect-button');
    expect(await focusVisible(page)).toBe(true);

    // Enter opens the modal with focus on the Apple ID.
    expect(await key('Enter')).toBe('#apple-id');
    expect(await dialogOpen(page)).toBe(true);

    // Tab order through the modal, then around: focus never leaves it.
    const order = ['#app-password', '#show-password', '#connect-cancel', '#connect-submit', `a[${MANAGE_URL}]`, '#apple-id', '#app-password'];
    for (const expected of order) {
      expect(await key('Tab')).toBe(expected);
      expect(await focusVisible(page)).toBe(true);
    }
    const backwards = ['#apple-id', `a[${MANAGE_URL}]`, '#connect-submit', '#connect-cancel'];
    for (const expected of backwards) expect(await key('Shift+Tab')).toBe(expected);
    for (let i = 0; i < 14; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.getElementById('connect-dialog')!.contains(document.activeElement))).toBe(true);

    // Escape closes it and gives focus back to Connect.
    expect(await key('Escape')).toBe('#connect-button');
    expect(await dialogOpen(page)).toBe(false);

    // Enter reopens; type, Enter submits. A malformed password is caught before any request.
    expect(await key('Enter')).toBe('#apple-id');
    await page.keyboard.type(DAN);
    await key('Tab');
    await page.keyboard.type('abcd-efgh');
    await page.keyboard.press('Enter');
    expect(await state(page)).toMatchObject({
      passwordError: 'An app-specific password is 16 letters (xxxx-xxxx-xxxx-xxxx); this one has 8.',
      passwordInvalid: true,
      focus: '#app-password',
    });
    expect(posts).toHaveLength(0);
    await screenshot(page, '14-format-hint');

    // Fix it and press Enter: connected, focus on Details.
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(PASSWORD);
    expect((await state(page)).passwordError).toBeNull(); // the hint clears once the value is right
    await page.keyboard.press('Enter');
    await page.locator('#connect-dialog').waitFor({ state: 'hidden' });
    expect(posts).toHaveLength(1);
    expect(await state(page)).toMatchObject({ badge: 'Active', focus: '#details-button' });
    expect(await focusVisible(page)).toBe(true);

    // Details by keyboard, then Disconnect: Escape cancels, the confirmation traps focus, Enter confirms.
    await key('Enter');
    expect((await state(page)).expanded).toBe(true);
    // Through where bookings go, the alert, the calendar's "Check for conflicts" toggle (one calendar here), then Disconnect.
    await page.locator('#calendar-list input').waitFor();
    expect(await key('Tab')).toBe('#destination-select');
    expect(await key('Tab')).toBe('#alert-select');
    expect(await key('Tab')).toBe('input');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^Check “.+” for conflicts$/);
    expect(await key('Tab')).toBe('#disconnect-button');
    expect(await key('Enter')).toBe('#disconnect-cancel');
    expect(await key('Escape')).toBe('#disconnect-button');
    expect(await state(page)).toMatchObject({ disconnectDialog: false, badge: 'Active' });
    expect(await key('Enter')).toBe('#disconnect-cancel');
    expect(await key('Tab')).toBe('#disconnect-confirm');
    expect(await key('Tab')).toBe('#disconnect-cancel');
    expect(await key('Shift+Tab')).toBe('#disconnect-confirm');
    await page.keyboard.press('Enter');
    await page.locator('#disconnect-dialog').waitFor({ state: 'hidden' });
    expect(await state(page)).toMatchObject({ badge: 'Not connected', focus: '#connect-button' });
    expect(await focusVisible(page)).toBe(true);
    expect(console.errors()).toEqual([]);
    await page.close();
  });

  it('a dialog closed by Escape and reopened before its `close` event still closes cleanly', async () => {
    // Escape closes a <dialog> at once but queues its `close` event; a quick Enter can reopen
    // the dialog first. That late event must not end the new session of the dialog (which
    // once left focus on <body> after Connect succeeded).
    const { page, console } = await openPage('acct-dialog-race');
    const stillOpen = await page.evaluate(async () => {
      const dialog = document.getElementById('connect-dialog') as HTMLDialogElement;
      const connect = document.getElementById('connect-button')!;
      connect.click();
      dialog.close(); // what Escape does natively: `close` is queued, not dispatched yet
      connect.click(); // reopened in the same task, before that `close` arrives
      await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
      return dialog.open;
    });
    expect(stillOpen).toBe(true);
    expect(await state(page)).toMatchObject({ focus: '#apple-id' });
    await page.click('#connect-cancel');
    expect(await dialogOpen(page)).toBe(false);
    expect(await state(page)).toMatchObject({ focus: '#connect-button' });
    expect(console.errors()).toEqual([]);
    await page.close();
  });
});

/** A GET with a chosen Host header (fetch can't set one): the status code. */
function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
