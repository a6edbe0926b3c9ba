/**
 * The details view says when the host changed bookings in Apple Calendar (issue 18): headless
 * Chromium → the local stack (two consumers, host-change checks every second) → a real
 * Radicale where the "host" deletes one booking's event and moves another's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/stack.js';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { bookingEvent } from '../harness/bookings.js';
import { hostDeletes, hostEdits, moveTo } from '../harness/host.js';
import { until } from '../harness/wait.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { launchBrowser, screenshot, watchConsole, type Browser } from './browser.js';

const EVE = 'eve@example.com';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ME = 'e2e-host-changes';
const HOST = { username: EVE, password: PASSWORD };

let radicale: RadicaleServer;
let browser: Browser;
let stack: Awaited<ReturnType<typeof startLocalStack>>;

beforeAll(async () => {
  radicale = await startRadicale({ users: { [EVE]: PASSWORD } });
  stack = await startLocalStack({
    port: 0,
    sqsPort: 0,
    persist: false,
    consumers: 2,
    sweep: false,
    hostChangesIntervalSeconds: 1,
    hostChangesReadLagSeconds: 0,
    logLevel: 'SILENT',
    dataDir: mkdtempSync(join(tmpdir(), 'host-e2e-')),
    caldavServerUrl: radicale.url,
  });
  browser = await launchBrowser();
  const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(ME)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ appleId: EVE, appSpecificPassword: PASSWORD }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await radicale?.stop();
});

describe('details: bookings changed in Apple Calendar', () => {
  it('says how many bookings the host changed in Apple Calendar and that the booking service was told', async () => {
    const bookings = new BookingStore(stack.table);
    const url = (id: string) => `${radicale.url}/${EVE}/home/${bookingObjectId(ME, id).filename}`;
    for (const id of ['deleted', 'moved', 'kept']) {
      const e = bookingEvent('confirmed', ME, id, 0);
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageGroupId: ME, MessageBody: JSON.stringify(e) }));
    }
    await until('the three bookings are written', async () => (await Promise.all(['deleted', 'moved', 'kept'].map((id) => bookings.get(ME, id)))).every((r) => r?.appliedSeq === 0));

    const page = await browser.context.newPage();
    const console = watchConsole(page);
    await page.goto(`${stack.url}/?user=${ME}`);
    await page.locator('#details-button').click();
    expect(await page.isVisible('#detail-host-changes-row')).toBe(false);

    await hostDeletes(url('deleted'), HOST);
    await hostEdits(url('moved'), HOST, moveTo('20261202T090000Z', '20261202T100000Z'));
    await until('both changes are recorded', async () => (await Promise.all(['deleted', 'moved'].map((id) => bookings.get(ME, id)))).every((r) => r?.hostChange));

    await page.reload();
    await page.locator('#details-button').click();
    await page.locator('#detail-host-changes-row').waitFor({ state: 'visible' });
    expect(await page.locator('#detail-host-changes').textContent()).toBe('2 bookings were changed in Apple Calendar — the booking service was told');
    await screenshot(page, 'details-host-changes');
    expect(console.messages.filter((m) => m.type === 'error' || m.type === 'pageerror')).toEqual([]);
    await page.close();
  });
});
