import { Queue, QueueEvents } from 'bullmq';
import { SupernodeClient } from '@supernode/client';
import { fanoutJobId } from '../../src/sync/fanout.producer.js';
import { createRedis } from '../../src/redis/redis.module.js';
import { QUEUES, bullPrefix } from '../../src/queue/queue-names.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

describe('a fan-out that failed all its attempts', () => {
  let world: TestEnv;
  let apiA: ServerProcess;
  let apiB: ServerProcess;
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    // Two attempts, and the reconciler every second.
    world = await createTestEnv({ FANOUT_ATTEMPTS: '2', RECONCILE_INTERVAL_SECONDS: '1' });
    // B (which holds the receivers' sockets) and the worker give up on a
    // locked table quickly; A (which accepts the send) is left as it is.
    const impatient = { ...world.env, DATABASE_STATEMENT_TIMEOUT_MS: 300 };
    const [a, b, worker] = await Promise.all([
      startServerProcess(world.env, 'api', await freePort()),
      startServerProcess(impatient, 'api', await freePort()),
      startServerProcess(impatient, 'worker', 0),
    ]);
    started.push(a, b, worker);
    [apiA, apiB] = [a, b];
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    await world.destroy();
  });

  it('is run again once PostgreSQL is back, and every device gets the message live', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bob = await newAccount(apiB.baseUrl, 'bob');
    const bobTablet = await SupernodeClient.fromIdentity(
      apiB.baseUrl,
      (await linkDevice(bob, 'tablet')).identity,
    );
    const inboxes = [await LiveInbox.connect(bob), await LiveInbox.connect(bobTablet)];
    const prefix = bullPrefix(world.env.REDIS_PREFIX);
    // On a Redis Cluster too (npm run test:cluster).
    const connections = [1, 2].map(() => createRedis(world.env, { forWorker: true }));
    const queue = new Queue(QUEUES.fanout, { connection: connections[0], prefix });
    const events = new QueueEvents(QUEUES.fanout, { connection: connections[1], prefix });
    const locker = await world.pool.connect();
    try {
      await events.waitUntilReady();
      await alice.sendText({ accountId: bob.accountId }, 'warm-up');
      await Promise.all(inboxes.map((inbox) => inbox.waitForCount(1)));

      // The job waits while the queue is paused; meanwhile the tables that
      // B's socket reads and the worker's job writes are locked.
      await queue.pause();
      const sent = await alice.sendText({ accountId: bob.accountId }, 'through a failed fan-out');
      const jobId = fanoutJobId(sent.messageId);
      await waitFor('the fan-out job', () => queue.getJob(jobId));
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE deliveries, fanout_pending IN ACCESS EXCLUSIVE MODE');
      const failed = new Promise<void>((resolve) =>
        events.on('failed', (event) => event.jobId === jobId && resolve()),
      );
      await queue.resume();
      await failed;
      // Its attempts are spent and nothing reached the sockets.
      expect(inboxes.map((inbox) => inbox.messages.length)).toEqual([1, 1]);

      await locker.query('ROLLBACK');
      await Promise.all(inboxes.map((inbox) => inbox.waitForCount(2, 20_000)));
      for (const inbox of inboxes) {
        expect(inbox.texts()).toEqual(['warm-up', 'through a failed fan-out']);
        // Live, not by a reconnect's catch-up.
        expect(inbox.connects).toBe(1);
      }
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await Promise.all(inboxes.map((inbox) => inbox.stream.close()));
      await events.close();
      await queue.close();
      for (const connection of connections) connection.disconnect();
    }
  });
});
