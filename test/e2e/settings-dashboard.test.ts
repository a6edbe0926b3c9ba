/**
 * The details view's "New bookings" controls in headless Chromium → the local stack → a real
 * Radicale: where bookings go (writable calendars only) and the alert, by keyboard; the
 * choice is kept across a reload, a booking written afterwards lands in the chosen calendar
 * with the alert; a destination that vanished is explained. Screenshots go to docs/ with
 * UPDATE_SCREENSHOTS=1.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/stack.js';
import { bookingEvent, sqsEvent } from '../harness/bookings.js';
import { readWithPython } from '../harness/python-ical.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { focused, focusVisible, launchBrowser, screenshot, watchConsole, type Browser } from './browser.js';

const EVE = 'eve@example.com';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ME = 'e2e-settings';

let radicale: RadicaleServer;
let browser: Browser;
let stack: Awaited<ReturnType<typeof startLocalStack>>;

const api = async (method: string, body?: unknown) => {
  const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
    method,
    headers: { authorization: `Bearer ${await stack.token(ME)}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const userDir = () => join(radicale.dir, 'collections', 'collection-root', EVE);
const objectsIn = (slug: string) => readdirSync(join(userDir(), slug)).filter((n) => n.endsWith('.ics')).map((n) => readFileSync(join(userDir(), slug, n), 'utf8'));

beforeAll(async () => {
  radicale = await startRadicale({
    users: { [EVE]: PASSWORD },
    calendars: {
      [EVE]: [
        { slug: 'home', displayName: 'Home' },
        { slug: 'work', displayName: 'Work' },
        { slug: 'team', displayName: 'Team (shared)', readOnly: true },
      ],
    },
  });
  stack = await startLocalStack({ port: 0, sqsPort: 0, persist: false, poll: false, dataDir: mkdtempSync(join(tmpdir(), 'settings-e2e-')), caldavServerUrl: radicale.url, logLevel: 'SILENT' });
  browser = await launchBrowser();
  expect((await api('POST', { appleId: EVE, appSpecificPassword: PASSWORD })).status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await radicale?.stop();
});

const rowTags = (page: import('playwright-core').Page) =>
  page.$$eval('#calendar-list li', (lis) => lis.map((li) => [li.querySelector('span')?.firstChild?.textContent, ...[...li.querySelectorAll('.tag')].map((t) => t.textContent)]));

describe('details: where new bookings go and their alert', () => {
  it('opens with the details view open when the link says details=open (the demo\'s link), closed otherwise', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.url}/?user=${ME}&details=open`);
    await page.locator('#destination-select option').first().waitFor({ state: 'attached' });
    expect(await page.locator('#details-panel').isVisible()).toBe(true);
    expect(await page.locator('#details-button').getAttribute('aria-expanded')).toBe('true');
    await page.goto(`${stack.url}/?user=${ME}`);
    await page.locator('#details-button').waitFor();
    await page.waitForFunction(() => document.querySelector('#apple-card')?.getAttribute('aria-busy') === null);
    expect(await page.locator('#details-panel').isVisible()).toBe(false);
    await page.close();
  });

  it('offers writable calendars only; chosen by keyboard, kept across a reload; a booking then lands there with the alert', async () => {
    const page = await browser.context.newPage();
    const console = watchConsole(page);
    await page.goto(`${stack.url}/?user=${ME}`);
    await page.locator('#details-button').click();
    await page.locator('#destination-select option').first().waitFor({ state: 'attached' });

    const options = (id: string) => page.$$eval(`#${id} option`, (os) => os.map((o) => [o.textContent, (o as HTMLOptionElement).selected]));
    expect(await options('destination-select')).toEqual([
      ['Home', true],
      ['Work', false],
    ]);
    expect((await options('alert-select')).map(([label]) => label)).toEqual([
      'None',
      'At time of event',
      '5 minutes before',
      '10 minutes before',
      '15 minutes before',
      '30 minutes before',
      '1 hour before',
      '2 hours before',
      '1 day before',
      '2 days before',
      '1 week before',
    ]);
    expect(await page.locator('#alert-select').inputValue()).toBe('');
    expect(await rowTags(page)).toEqual([
      ['Home', 'bookings go here'],
      ['Team (shared)', 'read-only'],
      ['Work'],
    ]);
    expect(await page.getByRole('combobox', { name: 'Add bookings to' }).count()).toBe(1);
    expect(await page.getByRole('combobox', { name: 'Alert' }).count()).toBe(1);

    // Keyboard only: focus the destination, step to "Work"; Tab to the alert, step to "15 minutes before".
    await page.locator('#destination-select').focus();
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.getElementById('settings-status')?.textContent === 'New bookings go to “Work”.');
    expect(await focused(page)).toBe('#destination-select');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('#alert-select');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.getElementById('settings-status')?.textContent === 'Alert: 15 minutes before.');
    expect(await rowTags(page)).toEqual([['Home'], ['Team (shared)', 'read-only'], ['Work', 'bookings go here']]);
    expect((await api('GET')).body).toMatchObject({ calendar: { name: 'Work' }, alertMinutesBefore: 15 });
    const shot = await screenshot(page, 'details-settings');
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(shot, 'docs/dashboard-settings.png');

    await page.reload();
    await page.locator('#details-button').click();
    await page.locator('#destination-select option').first().waitFor({ state: 'attached' });
    expect(await page.locator('#destination-select').inputValue()).toBe((await api('GET')).body.calendar.url);
    expect(await page.locator('#alert-select').inputValue()).toBe('15');

    const synced = await stack.syncHandler(sqsEvent([bookingEvent('confirmed', ME, 'bk_e2e_settings', 0, { title: 'Chosen in the dashboard' })]));
    expect(synced.batchItemFailures).toEqual([]);
    const [written] = objectsIn('work');
    expect(written).toContain('Chosen in the dashboard');
    expect(readWithPython(written!).alarms).toEqual([{ action: 'DISPLAY', triggerMinutesBefore: 15, description: 'Reminder: Chosen in the dashboard' }]);
    expect(objectsIn('home')).toEqual([]);

    // Back to no alert, by keyboard.
    await page.locator('#alert-select').focus();
    await page.keyboard.press('Home');
    await page.waitForFunction(() => document.getElementById('settings-status')?.textContent === 'Alert: None.');
    expect((await api('GET')).body).not.toHaveProperty('alertMinutesBefore');
    expect(console.errors()).toEqual([]);
    await page.close();
  });

  it('says so when the chosen calendar vanished: bookings go to the default calendar meanwhile', async () => {
    expect((await api('PATCH', { calendar: (await api('GET')).body.calendars.find((c: any) => c.name === 'Work').url })).status).toBe(200);
    rmSync(join(userDir(), 'work'), { recursive: true });
    // A booking meets the missing calendar: one re-discovery, written to Home.
    await stack.syncHandler(sqsEvent([bookingEvent('confirmed', ME, 'bk_e2e_fallback', 0, { title: 'After Work was deleted' })]));
    expect(objectsIn('home').some((t) => t.includes('After Work was deleted'))).toBe(true);

    const page = await browser.context.newPage();
    await page.goto(`${stack.url}/?user=${ME}`);
    await page.locator('#details-button').click();
    await page.locator('#destination-notice').waitFor();
    expect(await page.locator('#destination-notice').textContent()).toBe(
      '“Work” is no longer one of your calendars you can write to (deleted, or shared with you read-only). New bookings go to “Home” until you choose another calendar.',
    );
    expect(await page.locator('#destination-select option').allTextContents()).toEqual(['Home']);
    const shot = await screenshot(page, 'details-destination-gone');
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(shot, 'docs/dashboard-destination-gone.png');
    await page.close();
  });
});
