import { execFileSync } from 'node:child_process';
import { SupernodeClient } from '@supernode/client';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { bullPrefix } from '../../src/queue/queue-names.js';
import { createRedis } from '../../src/redis/redis.module.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { type ServerProcess, startTwoApisAndAWorker } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

// Kills a master of the cluster: run alone, after the other cluster tests
// (scripts/test-cluster.sh), and only there.
const onCluster = process.env.REDIS_CLUSTER_FAILOVER ? describe : describe.skip;

type SlotRange = [number, number, [string, number, string], ...[string, number, string][]];

/** The port of the master serving `slot`, and of its replicas, as the cluster says now. */
async function servingSlot(cluster: Cluster, slot: number) {
  const ranges = (await cluster.call('CLUSTER', 'SLOTS')) as SlotRange[];
  const range = ranges.find(([first, last]) => first <= slot && slot <= last)!;
  const [, , master, ...replicas] = range;
  return { master: master[1], replicas: replicas.map((replica) => replica[1]) };
}

onCluster('a Redis Cluster master killed under load', () => {
  let world: TestEnv;
  let cluster: Cluster;
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    // Reconciler and heartbeats every second: what the failover lost comes back soon.
    world = await createTestEnv({ RECONCILE_INTERVAL_SECONDS: '1', WS_HEARTBEAT_SECONDS: '1' });
    cluster = createRedis(world.env, { forWorker: true }) as Cluster;
    started.push(...(await startTwoApisAndAWorker(world.env)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    cluster?.disconnect();
    await world?.destroy();
  });

  it('its replica takes over, and every accepted message reaches every device', async () => {
    const [apiA, apiB] = started;
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bobPhone = await newAccount(apiA.baseUrl, 'bob');
    const bobLaptop = await SupernodeClient.fromIdentity(
      apiB.baseUrl,
      (await linkDevice(bobPhone, 'laptop')).identity,
    );
    // Bob's devices stream from both API processes: the laptop's messages
    // cross the queue and the sharded routing.
    const inboxes = [await LiveInbox.connect(bobPhone), await LiveInbox.connect(bobLaptop)];

    // The master of the queues' slot: the busiest shard of a send.
    const queueSlot = calculateSlot(`${bullPrefix(world.env.REDIS_PREFIX)}:fanout:id`);
    const before = await servingSlot(cluster, queueSlot);
    expect(before.replicas.length).toBe(1);
    const master = cluster.nodes('master').find((node) => node.options.port === before.master)!;
    const pid = Number(/process_id:(\d+)/.exec(await master.info('server'))![1]);

    const accepted: string[] = [];
    let refused = 0;
    const total = 150;
    let killedAt = 0;
    try {
      for (let index = 0; index < total; index++) {
        if (index === 40) {
          process.kill(pid, 'SIGKILL');
          killedAt = Date.now();
        }
        try {
          const sent = await alice.sendText({ accountId: bobPhone.accountId }, `message ${index}`);
          accepted.push(sent.messageId);
        } catch {
          refused++; // 503 while the slot has no master: the sender would retry
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      // The replica is the slot's master now.
      const after = await waitFor('the replica to take the slot over', async () => {
        const now = await servingSlot(cluster, queueSlot).catch(() => undefined);
        return now && now.master !== before.master ? now : undefined;
      });
      expect(after.master).toBe(before.replicas[0]);
      expect(Date.now() - killedAt).toBeLessThan(30_000);

      // Every accepted message on every device, once (the handler never saw one twice).
      for (const inbox of inboxes) {
        await waitFor(
          `every accepted message on each device (${accepted.length} accepted, ${refused} refused)`,
          () => accepted.every((id) => inbox.messages.some((message) => message.messageId === id)),
          30_000,
        );
        const received = inbox.messages.map((message) => message.messageId);
        expect(new Set(received).size).toBe(received.length);
      }
      // Most sends went through: the failover refused some for seconds, not the run.
      expect(accepted.length).toBeGreaterThan(total / 2);
    } finally {
      await Promise.all(inboxes.map((inbox) => inbox.stream.close()));
      // The killed node rejoins, as a replica, for whatever runs next.
      execFileSync('bash', ['scripts/redis-cluster.sh', 'restart-node', String(before.master)]);
    }
  }, 120_000);
});
