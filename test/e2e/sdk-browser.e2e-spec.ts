import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// What the page's global scope holds (this project compiles without DOM types).
declare const window: {
  Supernode: typeof import('@supernode/client');
  received: string[];
};

// The SDK package (packages/client) is meant for web apps as much as for
// Node: the same source, bundled for a browser, must run in one against the
// real server, from a web app on an origin of its own (CORS_ORIGINS).
describe('the SDK in a browser', () => {
  let app: TestApp;
  let webApp: Server;
  let webOrigin: string;
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    const built = await build({
      entryPoints: ['packages/client/src/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'Supernode',
      write: false,
      logLevel: 'silent',
    });
    bundle = built.outputFiles[0].text;
    // The web app: a page and the bundle, on another port (another origin).
    webApp = createServer((request, response) => {
      if (request.url === '/supernode-client.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      } else {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>web app</title><script src="/supernode-client.js"></script>');
      }
    });
    await new Promise<void>((resolve) => webApp.listen(0, '127.0.0.1', resolve));
    webOrigin = `http://127.0.0.1:${(webApp.address() as AddressInfo).port}`;
    [app, browser] = await Promise.all([
      startTestApp({ CORS_ORIGINS: webOrigin }),
      launchChromium(),
    ]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise((resolve) => webApp?.close(resolve));
  });

  async function openTab(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(webOrigin);
    return page;
  }

  it('bundles for the browser with neither node: built-ins nor the ws package', () => {
    // esbuild fails on a node: import when bundling for a browser; ws is mapped away.
    expect(bundle.length).toBeGreaterThan(0);
    expect(bundle).not.toMatch(/require\(["']node:|from ["']node:/);
    expect(bundle).not.toContain('ws/lib/websocket');
  });

  it('registers, encrypts, sends, and receives over the stream between two browser tabs', async () => {
    const [bobTab, aliceTab] = await Promise.all([openTab(), openTab()]);
    try {
      const bobAccountId = await bobTab.evaluate(async (api) => {
        const { SupernodeClient } = window.Supernode;
        const bob = await SupernodeClient.createAccount(api, `bob_${Date.now()}`, {
          deviceName: 'browser',
        });
        window.received = [];
        await bob.connect({
          onMessage: (message) => {
            window.received.push(JSON.stringify(message.content));
          },
        });
        return bob.accountId;
      }, app.baseUrl);
      const accepted = await aliceTab.evaluate(
        async ([api, to]) => {
          const { SupernodeClient } = window.Supernode;
          const alice = await SupernodeClient.createAccount(api, `alice_${Date.now()}`, {
            deviceName: 'browser',
          });
          return alice.sendText({ accountId: to }, 'hello from a browser');
        },
        [app.baseUrl, bobAccountId],
      );
      expect(accepted.messageId).toEqual(expect.any(String));

      await bobTab.waitForFunction(() => window.received.length > 0);
      const received = await bobTab.evaluate(() => window.received);
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0])).toMatchObject({ text: 'hello from a browser' });
    } finally {
      await Promise.all([bobTab.context().close(), aliceTab.context().close()]);
    }
  });

  it('answers CORS for the origins of CORS_ORIGINS only', async () => {
    const preflight = (origin: string) =>
      fetch(`${app.baseUrl}/v1/messages`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const allowed = await preflight(webOrigin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(webOrigin);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await preflight('https://elsewhere.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
