import { createApp } from '../../src/app.js';
import { RateLimitedError, SupernodeClient } from '@supernode/client';
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

describe.each([
  ['the proxy’s address', '127.0.0.1'],
  ['a hop count', '1'],
])(
  'behind a proxy (TRUST_PROXY as %s): per-address limits count the address the proxy saw',
  (_kind, trustProxy) => {
    let world: TestApp;
    beforeAll(async () => {
      world = await startTestApp({
        TRUST_PROXY: trustProxy,
        RATE_LIMIT_AUTH: '2',
        RATE_LIMIT_WINDOW_SECONDS: '60',
      });
    });
    afterAll(() => world.close());

    // What the proxy on 127.0.0.1 forwards: whatever the client wrote, then
    // the address it saw. The body is invalid, which still counts (guards run first).
    const challengeFrom = async (forwardedFor: string) => {
      const response = await fetch(`${world.baseUrl}/v1/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ deviceId: 'not-a-device' }),
      });
      return response.status;
    };

    it('a client writing a new left-most X-Forwarded-For each time is still limited by the address the proxy added', async () => {
      const statuses = [];
      for (const spoofed of ['203.0.113.1', '203.0.113.2', '203.0.113.3'])
        statuses.push(await challengeFrom(`${spoofed}, 198.51.100.7`));
      expect(statuses).toEqual([400, 400, 429]);
      // Another client of the same proxy has its own counter.
      expect(await challengeFrom('198.51.100.8')).toBe(400);
    });

    it('IPv6 clients share a counter per /64, and an IPv4-mapped address counts as its IPv4', async () => {
      expect(await challengeFrom('2001:db8:1:2::1')).toBe(400);
      expect(await challengeFrom('2001:db8:1:2:ffff:ffff:ffff:fffe')).toBe(400);
      expect(await challengeFrom('2001:db8:1:2::3')).toBe(429);
      expect(await challengeFrom('2001:db8:1:3::1')).toBe(400);

      expect(await challengeFrom('::ffff:198.51.100.20')).toBe(400);
      expect(await challengeFrom('198.51.100.20')).toBe(400);
      expect(await challengeFrom('::ffff:198.51.100.20')).toBe(429);
    });
  },
);

describe('per-account limits: link codes, conversations, member adds, directory look-ups', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({
      RATE_LIMIT_LINK_CODES: '2',
      RATE_LIMIT_CONVERSATIONS: '2',
      RATE_LIMIT_MEMBER_ADDS: '2',
      RATE_LIMIT_DIRECTORY: '3',
      RATE_LIMIT_WINDOW_SECONDS: '60',
    });
  });
  afterAll(() => world.close());

  const expectRateLimited = async (client: SupernodeClient, method: string, path: string) => {
    const response = await fetch(`${world.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${client.currentToken}` },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await response.json()) as { code: string }).code).toBe('rate_limited');
  };

  it('link codes: past the limit 429 and no code is made; the account’s other devices share the counter, other accounts do not', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const laptop = await linkDevice(alice, 'laptop');
    await alice.createLinkCode();
    const before = await tableCounts(world.pool, ['link_codes']);

    await expect(laptop.createLinkCode()).rejects.toBeInstanceOf(RateLimitedError);
    await expectRateLimited(alice, 'POST', '/v1/devices/link-codes');
    expect(await tableCounts(world.pool, ['link_codes'])).toEqual(before);

    const bob = await newAccount(world.baseUrl, 'bob');
    await expect(bob.createLinkCode()).resolves.toMatchObject({ code: expect.any(String) });
  });

  it('conversation creation: past the limit 429 and nothing is stored', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    await alice.createConversation([bob.accountId]);
    await alice.createConversation([bob.accountId], 'second');
    const before = await tableCounts(world.pool, ['conversations', 'conversation_members']);

    await expect(alice.createConversation([bob.accountId])).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    expect(await tableCounts(world.pool, ['conversations', 'conversation_members'])).toEqual(
      before,
    );
    await expect(bob.createConversation([alice.accountId])).resolves.toEqual(expect.any(String));
  });

  it('member adds: past the limit 429 and the account is not added', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const others = await Promise.all(
      ['bob', 'carol', 'dave'].map((name) => newAccount(world.baseUrl, name)),
    );
    const conversationId = await alice.createConversation([]);
    await alice.addMember(conversationId, others[0].accountId);
    await alice.addMember(conversationId, others[1].accountId);

    await expect(alice.addMember(conversationId, others[2].accountId)).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    const members = (await alice.getConversation(conversationId)).members;
    expect(members.map((member) => member.accountId).sort()).toEqual(
      [alice.accountId, others[0].accountId, others[1].accountId].sort(),
    );
  });

  it('directory look-ups by handle and by account id count together: enumeration stops at the limit', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const { handle } = await alice.devicesOf(bob.accountId);
    await alice.lookupHandle(handle);
    // A handle that does not exist counts too: probing is what the limit stops.
    await expect(alice.lookupHandle('nobody_here')).rejects.toMatchObject({
      problem: expect.objectContaining({ code: 'account_not_found' }),
    });

    await expect(alice.lookupHandle(handle)).rejects.toBeInstanceOf(RateLimitedError);
    await expectRateLimited(alice, 'GET', `/v1/accounts/${bob.accountId}/devices`);
    await expect(bob.lookupHandle(handle)).resolves.toMatchObject({ accountId: bob.accountId });
  });
});
