import { Queue } from 'bullmq';
import { type SupernodeClient, type WebPushSubscription } from '@supernode/client';
import { QUEUES, bullPrefix } from '../../src/queue/queue-names.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { PushDouble } from '../support/push-double.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

/**
 * Wake-up pushes through a Web Push service double on loopback (HTTPS, its own
 * CA): the server runs as its own process and trusts the double's CA through
 * NODE_EXTRA_CA_CERTS, as it would trust a real push service's.
 */
describe('Web Push wake-ups', () => {
  let world: TestEnv;
  let double: PushDouble;
  let server: ServerProcess;
  let apiOnly: ServerProcess;
  let pushQueue: Queue;

  beforeAll(async () => {
    double = await PushDouble.start();
    world = await createTestEnv({
      PUSH_ALLOWED_HOSTS: 'localhost',
      // Long enough that a second normal push within a test can only mean the throttle failed.
      PUSH_MIN_INTERVAL_SECONDS: '3600',
      RATE_LIMIT_URGENT_PER_PAIR: '3',
      // A push service that stalls holds a worker slot this long at most.
      PUSH_TIMEOUT_MS: '1000',
    });
    const processEnv = { NODE_EXTRA_CA_CERTS: double.caPath };
    [server, apiOnly] = await Promise.all([
      startServerProcess(world.env, 'all', await freePort(), processEnv),
      startServerProcess(world.env, 'api', await freePort(), processEnv),
    ]);
    pushQueue = new Queue(QUEUES.push, {
      connection: { url: world.env.REDIS_URL },
      prefix: bullPrefix(world.env.REDIS_PREFIX),
    });
  }, 60_000);

  afterAll(async () => {
    await pushQueue?.close();
    await Promise.all([server?.stop(), apiOnly?.stop()]);
    await double?.close();
    await world?.destroy();
  });

  /** Every push job asked for so far has run (sent, dropped or failed for good). */
  const pushQueueDrained = () =>
    waitFor('the push queue to drain', async () => {
      const counts = await pushQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((count) => count === 0);
    });

  const subscribed = async (client: SupernodeClient): Promise<WebPushSubscription> => {
    const subscription = double.subscribe();
    await client.registerPush(subscription);
    return subscription;
  };

  const subscriptionRows = async (deviceId: string): Promise<number> =>
    (await world.pool.query('SELECT 1 FROM push_subscriptions WHERE device_id = $1', [deviceId]))
      .rowCount ?? 0;

  it('serves one VAPID key, generated once and shared by every process', async () => {
    const [fromAll, fromApi] = await Promise.all(
      [server, apiOnly].map(async (process) => {
        const answer = await fetch(`${process.baseUrl}/v1/push/vapid`);
        expect(answer.status).toBe(200);
        return ((await answer.json()) as { publicKey: string }).publicKey;
      }),
    );
    expect(fromApi).toBe(fromAll);
    const point = Buffer.from(fromAll, 'base64url');
    expect(point).toHaveLength(65);
    expect(point[0]).toBe(4);
    const rows = await world.pool.query('SELECT public_key FROM vapid_keys');
    expect(rows.rows).toEqual([{ public_key: fromAll }]);
  });

  it('refuses endpoints that are not https or that point into the operator network, and stores nothing', async () => {
    const bob = await newAccount(server.baseUrl, 'bob');
    const good = double.subscribe();
    const port = new URL(double.origin).port;
    const refused = [
      `http://localhost:${port}/push/x`,
      `https://127.0.0.1:${port}/push/x`,
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.1/push/x',
      'https://[::1]/push/x',
      `https://user:secret@localhost:${port}/push/x`,
    ];
    for (const endpoint of refused) {
      await expect(bob.registerPush({ ...good, endpoint })).rejects.toMatchObject({
        status: 400,
        code: 'push_endpoint_refused',
      });
    }
    const badKeys = [
      { p256dh: 'not base64!', auth: good.keys.auth },
      { p256dh: good.keys.p256dh.slice(0, 40), auth: good.keys.auth },
      { p256dh: good.keys.p256dh, auth: Buffer.alloc(8).toString('base64url') },
    ];
    for (const keys of badKeys) {
      await expect(bob.registerPush({ ...good, keys })).rejects.toMatchObject({
        status: 400,
        code: 'validation_failed',
      });
    }
    expect(await subscriptionRows(bob.deviceId)).toBe(0);
    await bob.registerPush(good);
    expect(await subscriptionRows(bob.deviceId)).toBe(1);
    await bob.unregisterPush();
    expect(await subscriptionRows(bob.deviceId)).toBe(0);
  });

  it('wakes a sleeping device once per interval, urgent sends at once, with a sealed content-free payload', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const bob = await newAccount(server.baseUrl, 'bob');
    const subscription = await subscribed(bob);
    const vapidKey = await bob.vapidPublicKey();

    const sent = [];
    for (let index = 0; index < 3; index++)
      sent.push(
        await alice.sendText({ accountId: bob.accountId }, `asleep ${index}`, { ttlSeconds: 300 }),
      );
    await waitFor('a first push', () => double.pushesTo(subscription.endpoint).length >= 1);
    const call = await alice.send(
      { accountId: bob.accountId },
      { type: 'call-invite' },
      { urgent: true, ttlSeconds: 60 },
    );
    await waitFor('the urgent push', () =>
      double.pushesTo(subscription.endpoint).some((push) => push.urgency === 'high'),
    );
    await pushQueueDrained();

    const [normal, urgent, ...more] = double.pushesTo(subscription.endpoint);
    expect(more).toEqual([]);
    expect(double.failures).toEqual([]);
    expect(normal).toMatchObject({ urgency: 'normal', status: 201 });
    expect(urgent).toMatchObject({ urgency: 'high', status: 201 });
    // No push outlives what it announces.
    expect(normal.ttl).toBeGreaterThan(0);
    expect(normal.ttl).toBeLessThanOrEqual(300);
    expect(urgent.ttl).toBeGreaterThan(0);
    expect(urgent.ttl).toBeLessThanOrEqual(60);
    // One topic per device: the push service keeps only the latest.
    expect(normal.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(urgent.topic).toBe(normal.topic);
    expect(normal.vapid.publicKey).toBe(vapidKey);

    // What the browser hands the service worker is sealed to the device's box key.
    const notices = [normal, urgent].map((push) => bob.openPushPayload(push.plaintext));
    expect(notices[0]).toEqual({ v: 1, kind: 'message', pending: expect.any(Number) });
    expect(notices[0].pending).toBeGreaterThanOrEqual(1);
    expect(notices[1]).toEqual({ v: 1, kind: 'call', pending: 4 });
    const seen = Buffer.concat([normal.plaintext, urgent.plaintext]).toString('latin1');
    for (const id of [
      alice.accountId,
      alice.deviceId,
      call.messageId,
      ...sent.map((m) => m.messageId),
    ])
      expect(seen).not.toContain(id);

    // Connecting lifts the throttle: the next time bob sleeps, his first message wakes him.
    const inbox = await LiveInbox.connect(bob);
    await inbox.waitForCount(4);
    await inbox.stream.close();
    await waitFor('bob acked everything and left', async () => {
      const { rowCount } = await world.pool.query('SELECT 1 FROM deliveries WHERE device_id = $1', [
        bob.deviceId,
      ]);
      return rowCount === 0;
    });
    await alice.sendText({ accountId: bob.accountId }, 'asleep again');
    await waitFor(
      'a push after the reconnect',
      () => double.pushesTo(subscription.endpoint).length === 3,
    );
    expect(bob.openPushPayload(double.pushesTo(subscription.endpoint)[2].plaintext)).toEqual({
      v: 1,
      kind: 'message',
      pending: 1,
    });
  });

  it('sends no push to a device with an open stream', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const carol = await newAccount(server.baseUrl, 'carol');
    const dave = await newAccount(server.baseUrl, 'dave');
    const carolSubscription = await subscribed(carol);
    const daveSubscription = await subscribed(dave);
    const inbox = await LiveInbox.connect(carol);
    await alice.sendText({ accountId: carol.accountId }, 'live');
    await inbox.waitForCount(1);
    // A push for dave asked for after carol's message: carol's, had there been one, came first.
    await alice.send(
      { accountId: dave.accountId },
      { type: 'ring' },
      { urgent: true, ttlSeconds: 30 },
    );
    await waitFor('dave woken', () => double.pushesTo(daveSubscription.endpoint).length === 1);
    await pushQueueDrained();
    expect(double.pushesTo(carolSubscription.endpoint)).toEqual([]);
    await inbox.stream.close();
  });

  it('wakes a device whose stream closed with messages it had not acked', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const erin = await newAccount(server.baseUrl, 'erin');
    const subscription = await subscribed(erin);
    let received = 0;
    const stream = await erin.connect({
      onMessage: () => {
        received++;
        throw new Error('handler failed: not acked');
      },
      onError: () => undefined,
    });
    await alice.sendText({ accountId: erin.accountId }, 'read but not acked');
    await waitFor('the frame', () => received >= 1);
    expect(double.pushesTo(subscription.endpoint)).toEqual([]);
    await stream.close();
    await waitFor(
      'a push after the close',
      () => double.pushesTo(subscription.endpoint).length === 1,
    );
    expect(erin.openPushPayload(double.pushesTo(subscription.endpoint)[0].plaintext)).toMatchObject(
      {
        pending: 1,
      },
    );
  });

  it('drops a subscription the push service answers 410 for, and honours Retry-After on 429', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const frank = await newAccount(server.baseUrl, 'frank');
    const gone = await subscribed(frank);
    double.answerNext(gone.endpoint, { status: 410 });
    await alice.sendText({ accountId: frank.accountId }, 'to an expired subscription');
    await waitFor(
      'the subscription dropped',
      async () => (await subscriptionRows(frank.deviceId)) === 0,
    );
    expect(double.pushesTo(gone.endpoint).map((push) => push.status)).toEqual([410]);

    const grace = await newAccount(server.baseUrl, 'grace');
    const busy = await subscribed(grace);
    double.answerNext(busy.endpoint, { status: 429, headers: { 'Retry-After': '2' } });
    await alice.sendText({ accountId: grace.accountId }, 'to a busy push service');
    await waitFor('the retry', () => double.pushesTo(busy.endpoint).length === 2, 15_000);
    const [first, retry] = double.pushesTo(busy.endpoint);
    expect([first.status, retry.status]).toEqual([429, 201]);
    expect(retry.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(1900);
    expect(await subscriptionRows(grace.deviceId)).toBe(1);
  });

  it('gives up on a push service that does not answer, and reads no more than the cap of an answer', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const gina = await newAccount(server.baseUrl, 'gina');
    const hal = await newAccount(server.baseUrl, 'hal');
    const stalled = await subscribed(gina);
    const chatty = await subscribed(hal);
    double.answerNext(stalled.endpoint, { status: 201, stall: true });
    const huge = 64 * 1024 * 1024;
    double.answerNext(chatty.endpoint, { status: 201, bodyBytes: huge });
    await alice.sendText({ accountId: gina.accountId }, 'to a stalled push service');
    await alice.sendText({ accountId: hal.accountId }, 'to a chatty push service');
    await waitFor('both answers to end', () =>
      [stalled, chatty].every((subscription) =>
        double.answerEnds.some((end) => end.endpoint === subscription.endpoint),
      ),
    );
    const endOf = (endpoint: string) => double.answerEnds.find((end) => end.endpoint === endpoint)!;
    // PUSH_TIMEOUT_MS is 1 s here: the connection is dropped soon after, not held.
    expect(endOf(stalled.endpoint).closedAfterMs).toBeLessThan(3000);
    // The default cap is 16 KiB: the server hangs up long before 64 MiB.
    expect(endOf(chatty.endpoint).bodyBytesWritten).toBeLessThan(huge / 4);
  });

  it('drops the subscription of a revoked device', async () => {
    const bob = await newAccount(server.baseUrl, 'bob');
    const tablet = await linkDevice(bob, 'tablet');
    await subscribed(tablet);
    expect(await subscriptionRows(tablet.deviceId)).toBe(1);
    await bob.revokeDevice(tablet.deviceId);
    expect(await subscriptionRows(tablet.deviceId)).toBe(0);
  });

  it('urgent sends need a short ttl and are limited per sender and recipient', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const bob = await newAccount(server.baseUrl, 'bob');
    const carol = await newAccount(server.baseUrl, 'carol');
    for (const options of [{ urgent: true }, { urgent: true, ttlSeconds: 121 }]) {
      await expect(
        alice.send({ accountId: bob.accountId }, { type: 'ring' }, options),
      ).rejects.toMatchObject({
        status: 400,
        code: 'validation_failed',
      });
    }
    for (let index = 0; index < 3; index++)
      await alice.send(
        { accountId: bob.accountId },
        { type: 'ring' },
        { urgent: true, ttlSeconds: 30 },
      );
    await expect(
      alice.send({ accountId: bob.accountId }, { type: 'ring' }, { urgent: true, ttlSeconds: 30 }),
    ).rejects.toMatchObject({ status: 429 });
    // Another pair has its own count; a normal send is not counted.
    await alice.send(
      { accountId: carol.accountId },
      { type: 'ring' },
      { urgent: true, ttlSeconds: 30 },
    );
    await alice.sendText({ accountId: bob.accountId }, 'not urgent');
  });

  it('an urgent message is gone at its expiry, delivered or not', async () => {
    const alice = await newAccount(server.baseUrl, 'alice');
    const bob = await newAccount(server.baseUrl, 'bob');
    await alice.send(
      { accountId: bob.accountId },
      { type: 'ring' },
      { urgent: true, ttlSeconds: 1 },
    );
    expect((await bob.fetchInbox()).messages).toHaveLength(1);
    await waitFor(
      'the call invitation to expire',
      async () => (await bob.fetchInbox()).messages.length === 0,
      5000,
    );
  });
});
