import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { createApp } from '../../src/app.js';
import { createRedis } from '../../src/redis/redis.module.js';
import { aliceAndBobWithTwoDevicesEach, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { deleteRedisPrefix } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';
import { QUEUES, bullPrefix } from '../../src/queue/queue-names.js';

describe('nothing is lost when Redis is', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({ RECONCILE_INTERVAL_SECONDS: '1', WS_HEARTBEAT_SECONDS: '1' });
  });
  afterAll(() => world.close());

  it('after Redis loses every key mid-run, every device still gets every message exactly once', async () => {
    const { alice, aliceLaptop, bob, bobTablet } = await aliceAndBobWithTwoDevicesEach(
      world.baseUrl,
    );
    const inboxes = await Promise.all(
      [bob, bobTablet, aliceLaptop].map((client) => LiveInbox.connect(client)),
    );

    const total = 60;
    const sentIds: string[] = [];
    for (let index = 0; index < total; index++) {
      // Every key of this deployment goes (queues, jobs, presence), as with FLUSHALL;
      // other test files share the Redis server, so only this prefix is flushed.
      if (index === total / 2) await deleteRedisPrefix(world.env, world.env.REDIS_PREFIX);
      sentIds.push(
        (await alice.sendText({ accountId: bob.accountId }, `message ${index}`)).messageId,
      );
    }

    for (const inbox of inboxes) {
      await inbox.waitForCount(total, 20_000);
      const received = inbox.messages.map((message) => message.messageId);
      expect(new Set(received).size).toBe(received.length); // the handler never saw one twice
      expect([...received].sort()).toEqual([...sentIds].sort());
    }
    await Promise.all(inboxes.map((inbox) => inbox.stream.close()));
  }, 40_000);

  it('a send whose notice numbers cannot be taken after its commit answers 503; its retry gets the 201', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const body = sealedSend(
      alice,
      { accountId: bob.accountId },
      (await alice.devicesOf(bob.accountId)).devices,
    );
    // A key of the wrong type where Bob's counter lives: Redis refuses the numbering call.
    const redis = createRedis(world.env, { forWorker: true });
    const counter = `${world.env.REDIS_PREFIX}:notice:${bob.deviceId}`;
    try {
      await redis.set(counter, 'not a counter');
      const refused = await rawCall(alice, 'POST', '/v1/messages', body);
      expect([refused.status, refused.body.code]).toEqual([503, 'service_unavailable']);
      expect(refused.contentType).toMatch(/^application\/problem\+json/);
      await redis.del(counter);
    } finally {
      redis.disconnect();
    }
    const retried = await rawCall(alice, 'POST', '/v1/messages', body);
    expect(retried.status).toBe(201);
    // Stored once, by the first attempt: Bob has it once.
    const synced = await bob.sync();
    expect(synced.map((message) => message.messageId)).toEqual([retried.body.messageId]);
  });
});

describe('the fan-out reconciler', () => {
  it('re-enqueues fan-outs whose jobs Redis lost, so connected devices still get them live', async () => {
    // Two API processes and, at first, no worker: Alice sends through one,
    // Bob is connected to the other, so only a fan-out job can reach him live.
    const api = await startTestApp({ ROLE: 'api', RECONCILE_INTERVAL_SECONDS: '1' });
    const bobsApi = await createApp({ ...api.env, ROLE: 'api' });
    await bobsApi.listen(0, '127.0.0.1');
    const { port } = bobsApi.getHttpServer().address() as { port: number };
    let inbox: LiveInbox | undefined;
    let worker: typeof bobsApi | undefined;
    try {
      const alice = await newAccount(api.baseUrl, 'alice');
      const bob = await newAccount(`http://127.0.0.1:${port}`, 'bob');
      // (Presence is shown to accounts that share a conversation.)
      await alice.createConversation([bob.accountId]);
      // A socket reads PostgreSQL as it opens, after it marks its device
      // online: on a loaded host that read could come after the sends below
      // and take them all. A message waiting before the socket opens comes
      // by that read, so once it has come the read is over, and what is sent
      // next can only come by a fan-out.
      await alice.sendText({ accountId: bob.accountId }, 'before');
      inbox = await LiveInbox.connect(bob);
      await inbox.waitForCount(1, 15_000);
      await waitFor(
        'Bob online',
        async () => (await alice.devicesOf(bob.accountId)).devices[0].online === true,
      );
      const sent: { messageId: string }[] = [];
      for (let index = 0; index < 5; index++)
        sent.push(await alice.sendText({ accountId: bob.accountId }, `queued ${index}`));
      // Jobs gather messages for a few milliseconds: all five must be queued
      // before their keys go (a job half-deleted while it was being added
      // would keep its id, and the reconciler's re-add of that id would be a
      // no-op).
      const queue = api.app.get<Queue>(getQueueToken(QUEUES.fanout));
      await waitFor('all five fan-outs queued', async () => {
        const queued = JSON.stringify((await queue.getWaiting()).map((job): unknown => job.data));
        return sent.every(({ messageId }) => queued.includes(messageId));
      });
      // The queue's keys go; presence stays, so Bob's socket sees no reason to re-sync.
      await deleteRedisPrefix(api.env, bullPrefix(api.env.REDIS_PREFIX));
      expect(inbox.texts()).toEqual(['before']);

      worker = await createApp({ ...api.env, ROLE: 'worker' });
      await worker.init();
      await inbox.waitForCount(6, 15_000);
      expect(inbox.texts()).toEqual([
        'before',
        'queued 0',
        'queued 1',
        'queued 2',
        'queued 3',
        'queued 4',
      ]);
      expect(inbox.connects).toBe(1);
    } finally {
      await inbox?.stream.close();
      await worker?.close();
      await bobsApi.close();
      await api.close();
    }
  }, 30_000);
});
