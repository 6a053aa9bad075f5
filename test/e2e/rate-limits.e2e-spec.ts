import { createApp } from '../../src/app.js';
import { RateLimitedError, SupernodeClient } from '../../src/client/index.js';
import { uniqueHandle } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { tableCounts } from '../support/test-env.js';

describe('per-address rate limits, counted in Redis across processes', () => {
  let world: TestApp;
  let secondBaseUrl: string;
  let second: Awaited<ReturnType<typeof createApp>>;

  beforeAll(async () => {
    world = await startTestApp({
      RATE_LIMIT_ACCOUNT_CREATE: '3',
      RATE_LIMIT_AUTH: '4',
      RATE_LIMIT_WINDOW_SECONDS: '60',
    });
    // A second API process on the same database and Redis prefix.
    second = await createApp(world.env);
    await second.listen(0, '127.0.0.1');
    const address = second.getHttpServer().address();
    secondBaseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await second.close();
    await world.close();
  });

  it('account creation: the limit holds across two processes, then 429 with Retry-After, and nothing is stored', async () => {
    await SupernodeClient.createAccount(world.baseUrl, uniqueHandle());
    await SupernodeClient.createAccount(secondBaseUrl, uniqueHandle());
    // createAccount logs in too: challenge and token count against the auth limit, not this one.
    await SupernodeClient.createAccount(world.baseUrl, uniqueHandle()).catch(() => undefined);
    const before = await tableCounts(world.pool, ['accounts', 'devices']);

    const response = await fetch(`${secondBaseUrl}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: uniqueHandle(), device: {} }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    // Three hits weighted as the previous window's once the minute turns: room
    // again a third into the next minute at the latest.
    expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(80);
    expect(((await response.json()) as { code: string }).code).toBe('rate_limited');
    expect(await tableCounts(world.pool, ['accounts', 'devices'])).toEqual(before);
  });

  it('login: the SDK sees a typed RateLimitedError once the address passed the auth limit', async () => {
    await expect(
      SupernodeClient.createAccount(world.baseUrl, uniqueHandle()),
    ).rejects.toBeInstanceOf(RateLimitedError);
  });
});
