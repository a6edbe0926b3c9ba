/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core (no browser download), a fresh user-data-dir per launch, fixed locale,
 * time zone and viewport so screenshots and formatted dates are stable.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = resolve('test-results/screenshots');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'chromium-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 1024, height: 900 },
    reducedMotion: 'reduce',
    colorScheme: 'light',
    serviceWorkers: 'block',
  });
  context.setDefaultTimeout(10_000);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What a page printed: console messages and uncaught errors, to check after a flow. */
export function watchConsole(page: Page) {
  const messages: Array<{ type: string; text: string }> = [];
  page.on('console', (m) => messages.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (err) => messages.push({ type: 'pageerror', text: String(err) }));
  return {
    messages,
    /** Errors other than Chromium's own "Failed to load resource" lines for 4xx/5xx answers. */
    errors: () => messages.filter((m) => (m.type === 'error' || m.type === 'pageerror') && !m.text.startsWith('Failed to load resource')),
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.mouse.move(0, 0); // no hover effect in the picture
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  return path;
}

/** A short description of the focused element, e.g. `#apple-id` or `a[https://…]`. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    if (el.id) return `#${el.id}`;
    if (el instanceof HTMLAnchorElement) return `a[${el.href}]`;
    return el.tagName.toLowerCase();
  });
}

/** Whether the focused element shows a focus indicator (matches :focus-visible with an outline). */
export function focusVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return false;
    const style = getComputedStyle(el);
    return el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  });
}

/**
 * Everything the tests look at on the dashboard page, read in one round trip. Text is
 * whitespace-collapsed; an element that is hidden (or in a closed dialog) reads as null.
 */
export function pageState(page: Page) {
  return page.evaluate(() => {
    const $ = (id: string) => document.getElementById(id);
    const shown = (id: string) => {
      const el = $(id);
      return !!el && !el.closest('[hidden]') && el.getClientRects().length > 0;
    };
    const text = (id: string) => (shown(id) ? ($(id)!.textContent ?? '').replace(/\s+/g, ' ').trim() : null);
    const input = (id: string) => $(id) as HTMLInputElement;
    const active = document.activeElement;
    return {
      badge: text('status-text'),
      summary: text('card-summary'),
      notice: text('card-notice') || null,
      cardError: text('card-error'),
      connectButton: shown('connect-button'),
      detailsButton: shown('details-button'),
      expanded: $('details-button')!.getAttribute('aria-expanded') === 'true',
      appleIdDetail: text('detail-apple-id'),
      calendarDetail: text('detail-calendar'),
      connectedAt: $('detail-connected-at')!.querySelector('time')?.dateTime ?? null,
      lastSync: text('detail-last-sync'),
      reconnect: shown('reconnect-button'),
      connectDialog: (input('connect-dialog') as unknown as HTMLDialogElement).open,
      disconnectDialog: (input('disconnect-dialog') as unknown as HTMLDialogElement).open,
      title: text('connect-title'),
      busy: $('connect-form')!.getAttribute('aria-busy') === 'true',
      formError: text('form-error'),
      appleIdError: text('apple-id-error'),
      passwordError: text('app-password-error'),
      appleId: input('apple-id').value,
      password: input('app-password').value,
      appleIdInvalid: input('apple-id').getAttribute('aria-invalid') === 'true',
      passwordInvalid: input('app-password').getAttribute('aria-invalid') === 'true',
      focus: !active || active === document.body ? 'body' : active.id ? `#${active.id}` : active instanceof HTMLAnchorElement ? `a[${active.href}]` : active.tagName.toLowerCase(),
    };
  });
}
