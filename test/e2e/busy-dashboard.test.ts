/**
 * The details view's calendars and busy-times preview in headless Chromium → the local stack
 * → a real Radicale with events written by another client: every calendar that can hold
 * events with a "Check for conflicts" toggle, the next seven days' busy times, and a toggle
 * that changes them (kept across a reload).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/stack.js';
import { oneEvent, putObjects } from '../harness/busy-fixtures.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { launchBrowser, screenshot, watchConsole, type Browser } from './browser.js';

const DAN = 'dan@example.com';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ME = 'e2e-busy';

let radicale: RadicaleServer;
let browser: Browser;
let stack: Awaited<ReturnType<typeof startLocalStack>>;

/** Tomorrow (UTC) at hh:mm, as iCalendar UTC and as the ISO the API answers. */
function at(dayOffset: number, hh: number, mm = 0) {
  const d = new Date();
  d.setUTCHours(hh, mm, 0, 0);
  d.setUTCDate(d.getUTCDate() + dayOffset);
  return { ics: d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''), iso: d.toISOString() };
}

beforeAll(async () => {
  radicale = await startRadicale({
    users: { [DAN]: PASSWORD },
    calendars: {
      [DAN]: [
        { slug: 'home', displayName: 'Home' },
        { slug: 'work', displayName: 'Work' },
        { slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] },
      ],
    },
  });
  const auth = { username: DAN, password: PASSWORD };
  await putObjects(`${radicale.url}/${DAN}/home/`, auth, [oneEvent(at(1, 9).ics, at(1, 10).ics)]);
  await putObjects(`${radicale.url}/${DAN}/work/`, auth, [oneEvent(at(2, 13).ics, at(2, 14, 30).ics)]);
  stack = await startLocalStack({ port: 0, sqsPort: 0, persist: false, poll: false, dataDir: mkdtempSync(join(tmpdir(), 'busy-e2e-')), caldavServerUrl: radicale.url });
  browser = await launchBrowser();
  const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(ME)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ appleId: DAN, appSpecificPassword: PASSWORD }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await radicale?.stop();
});

describe('details: calendars and busy times', () => {
  it('lists the calendars with a toggle each and the next seven days’ busy times; unchecking a calendar removes its events', async () => {
    const page = await browser.context.newPage();
    const console = watchConsole(page);
    await page.goto(`${stack.url}/?user=${ME}`);
    await page.locator('#details-button').click();
    await page.locator('#busy-list li').first().waitFor();

    const rows = page.locator('#calendar-list li');
    expect(await rows.count()).toBe(2); // not the Reminders list
    expect(await rows.nth(0).textContent()).toContain('Home');
    expect(await rows.nth(0).textContent()).toContain('bookings go here');
    expect(await rows.nth(1).textContent()).toContain('Work');
    const homeBox = page.getByRole('checkbox', { name: 'Check “Home” for conflicts' });
    const workBox = page.getByRole('checkbox', { name: 'Check “Work” for conflicts' });
    expect(await homeBox.isChecked()).toBe(true);
    expect(await workBox.isChecked()).toBe(true);

    const times = () => page.$$eval('#busy-list time', (els) => els.map((e) => (e as HTMLTimeElement).dateTime));
    await page.waitForFunction(() => document.querySelectorAll('#busy-list li').length === 2);
    expect(await times()).toEqual([at(1, 9).iso, at(1, 10).iso, at(2, 13).iso, at(2, 14, 30).iso]);
    expect(await page.locator('#busy-status').textContent()).toBe('2 busy times.');
    await screenshot(page, 'details-busy');

    await workBox.click(); // keyboard users: Space on the focused checkbox does the same
    await page.waitForFunction(() => document.querySelectorAll('#busy-list li').length === 1);
    expect(await times()).toEqual([at(1, 9).iso, at(1, 10).iso]);
    expect(await workBox.isChecked()).toBe(false);

    await page.reload();
    await page.locator('#details-button').click();
    await page.waitForFunction(() => document.querySelectorAll('#busy-list li').length === 1);
    expect(await page.getByRole('checkbox', { name: 'Check “Work” for conflicts' }).isChecked()).toBe(false);
    await page.getByRole('checkbox', { name: 'Check “Work” for conflicts' }).focus();
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelectorAll('#busy-list li').length === 2);
    expect(console.messages.filter((m) => m.type === 'error' || m.type === 'pageerror')).toEqual([]);
    await page.close();
  });

  it('says why when the busy times can’t be read (fail closed: nothing is shown as free)', async () => {
    await radicale.kill();
    // The cache was confirmed moments ago: within 60 s it still answers; make it older.
    const { UpdateCommand, DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: 'us-east-1' }));
    await doc.send(new UpdateCommand({ TableName: stack.tableName, Key: { pk: `ACCOUNT#${ME}`, sk: 'BUSY#STATE' }, UpdateExpression: 'SET checkedAt = :t', ExpressionAttributeValues: { ':t': 0 } }));
    doc.destroy();
    const page = await browser.context.newPage();
    await page.goto(`${stack.url}/?user=${ME}`);
    await page.locator('#details-button').click();
    await page.waitForFunction(() => /can’t be read from iCloud/.test(document.getElementById('busy-status')?.textContent ?? ''));
    expect(await page.locator('#busy-list li').count()).toBe(0);
    await page.close();
    await radicale.restart();
  });
});
