import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { uniqueHandle } from '../factories/accounts.js';
import { launchChromium } from '../support/chromium.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Screenshots of the demo, kept for a reader of the test run.
const ARTIFACTS_DIR = path.resolve(process.env.TEST_ARTIFACTS_DIR ?? 'test-artifacts');

// The web demo at /demo, used as a person would: in real Chromium, each tab a
// device of its own (?device=…), keys in IndexedDB.
describe('the web demo (/demo)', () => {
  let app: TestApp;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startTestApp(), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  // What the pages threw or logged as errors (CSP refusals included; not the
  // answers the SDK handles itself, such as a 409 naming devices to add).
  const pageErrors: string[] = [];

  async function openDevice(device: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${device}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        pageErrors.push(`${device}: ${message.text()}`);
    });
    await page.goto(`${app.baseUrl}/demo?device=${device}`);
    await page.locator('#profile', { hasText: device }).waitFor();
    return page;
  }

  async function createAccount(page: Page, handle: string): Promise<void> {
    await page.fill('#create input[name=handle]', handle);
    await page.click('#create button');
    await page.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
    // Signed in, the forms to sign in go away.
    await expect(page.locator('#setup').isHidden()).resolves.toBe(true);
  }

  async function send(page: Page, to: string, text: string): Promise<void> {
    await page.fill('#send input[name=to]', to);
    await page.fill('#send input[name=text]', text);
    await page.click('#send button');
    await page.locator('#messages li.mine', { hasText: text }).waitFor();
  }

  const line = (page: Page, from: string, text: string) =>
    page.locator('#messages li', { hasText: text }).filter({ hasText: from });

  it('serves the page with a policy that keeps it to this server', async () => {
    const answer = await fetch(`${app.baseUrl}/demo/`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(await answer.text()).toContain('Supernode demo');
  });

  it('creates accounts, links a second device, chats across tabs, and delivers the backlog to a tab reopened', async () => {
    const alice = uniqueHandle('alice');
    const bob = uniqueHandle('bob');
    const alicePhone = await openDevice('alice-phone');
    let bobTab = await openDevice('bob');
    await createAccount(alicePhone, alice);
    await createAccount(bobTab, bob);

    await send(alicePhone, bob, 'hi bob');
    await line(bobTab, alice, 'hi bob').waitFor();

    // Alice links her laptop with a code her phone shows.
    await alicePhone.click('#show-link-code');
    const code = (await alicePhone.locator('#link-code').filter({ hasText: /\S/ }).textContent())!;
    const aliceLaptop = await openDevice('alice-laptop');
    await aliceLaptop.fill('#link input[name=code]', code);
    await aliceLaptop.click('#link button');
    await aliceLaptop.locator('#whoami', { hasText: `Signed in as ${alice}` }).waitFor();

    // Bob's answer reaches both of Alice's devices.
    await send(bobTab, alice, 'hi both of you');
    await line(alicePhone, bob, 'hi both of you').waitFor();
    await line(aliceLaptop, bob, 'hi both of you').waitFor();

    // Bob closes his tab; Alice writes; Bob's tab comes back with the backlog.
    await bobTab.close();
    await send(alicePhone, bob, 'while you were away');
    // Her laptop sees what her phone sent.
    await line(aliceLaptop, 'you, from another device', 'while you were away').waitFor();
    bobTab = await openDevice('bob');
    await bobTab.locator('#whoami', { hasText: `Signed in as ${bob}` }).waitFor();
    await line(bobTab, alice, 'while you were away').waitFor();
    // What it showed before the close is still there (kept in IndexedDB), once.
    await expect(line(bobTab, alice, 'hi bob').count()).resolves.toBe(1);
    await expect(bobTab.locator('#error').textContent()).resolves.toBe('');
    expect(pageErrors).toEqual([]);

    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    for (const [name, page] of [
      ['alice-phone', alicePhone],
      ['alice-laptop', aliceLaptop],
      ['bob', bobTab],
    ] as const)
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `web-demo-${name}.png`) });
  }, 60_000);
});
