import { createApp } from '../../src/app.js';
import { RateLimitedError, SupernodeClient } from '../../src/client/index.js';
import { linkDevice, newAccount, uniqueHandle } from '../factories/accounts.js';
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

describe('per-device send limit', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({
      RATE_LIMIT_SEND_PER_DEVICE: '4',
      RATE_LIMIT_WINDOW_SECONDS: '60',
    });
  });
  afterAll(() => world.close());

  it('a device past its send limit is refused and the message stored nowhere; another device of the account still sends', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const aliceLaptop = await linkDevice(alice, 'laptop');
    const bob = await newAccount(world.baseUrl, 'bob');
    // Every send request counts: the SDK's first send to Bob learns his devices
    // from a 409 and sends again, so three messages take the four allowed.
    for (const text of ['one', 'two', 'three'])
      await alice.sendText({ accountId: bob.accountId }, text);

    const refused = await alice
      .sendText({ accountId: bob.accountId }, 'four')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
    await aliceLaptop.sendText({ accountId: bob.accountId }, 'from the laptop');

    const received = await bob.sync();
    expect(received.map((message) => (message.content as { text: string }).text)).toEqual([
      'one',
      'two',
      'three',
      'from the laptop',
    ]);
  });
});
