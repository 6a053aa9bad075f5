import { SupernodeClient } from '@supernode/client';
import { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { bullPrefix } from '../../src/queue/queue-names.js';
import { createRedis } from '../../src/redis/redis.module.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { type ServerProcess, startTwoApisAndAWorker } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

// Runs on a Redis Cluster only (npm run test:cluster sets REDIS_CLUSTER_NODES);
// the other tests of that run check that everything else still holds there.
const onCluster = process.env.REDIS_CLUSTER_NODES ? describe : describe.skip;

onCluster('on a Redis Cluster (3 masters, 3 replicas)', () => {
  let world: TestEnv;
  let cluster: Cluster;
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    world = await createTestEnv();
    cluster = createRedis(world.env, { forWorker: true }) as Cluster;
    started.push(...(await startTwoApisAndAWorker(world.env)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    cluster?.disconnect();
    await world?.destroy();
  });

  /** Every key under `pattern`, from every master. */
  async function keysMatching(pattern: string): Promise<string[]> {
    const found: string[] = [];
    for (const node of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
    }
    return found;
  }

  it('delivers live to devices whose keys live on different shards, through both API processes', async () => {
    const [apiA, apiB] = started;
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bob = await newAccount(apiB.baseUrl, 'bob');
    const bobDevices = [bob];
    for (const name of ['laptop', 'tablet', 'watch']) {
      const linked = await linkDevice(bob, name);
      bobDevices.push(await SupernodeClient.fromIdentity(apiB.baseUrl, linked.identity));
    }
    // Four devices' presence, queue and notice keys: spread over the slots,
    // so one send's multi-key commands must be split by slot.
    const slots = new Set(
      bobDevices.map((device) =>
        calculateSlot(`${world.env.REDIS_PREFIX}:presence:${device.deviceId}`),
      ),
    );
    expect(slots.size).toBeGreaterThan(1);
    const inboxes = await Promise.all(bobDevices.map((device) => LiveInbox.connect(device)));
    try {
      await alice.sendText({ accountId: bob.accountId }, 'across the shards');
      for (const inbox of inboxes) await inbox.waitForCount(1);
      expect(inboxes.map((inbox) => inbox.texts())).toEqual(
        inboxes.map(() => ['across the shards']),
      );
      expect(inboxes.map((inbox) => inbox.connects)).toEqual(inboxes.map(() => 1));
    } finally {
      await Promise.all(inboxes.map((inbox) => inbox.stream.close()));
    }
  });

  it('routes over sharded pub/sub, and keeps each BullMQ queue in one slot', async () => {
    // Each API process listens on its own channel and the broadcast one, with SSUBSCRIBE.
    const routeChannels = `${world.env.REDIS_PREFIX}:route:*`;
    const sharded = await waitFor('the routing channels', async () => {
      const channels = new Set<string>();
      for (const node of cluster.nodes('master')) {
        const listed = (await node.call('PUBSUB', 'SHARDCHANNELS', routeChannels)) as string[];
        for (const channel of listed) channels.add(channel);
      }
      return channels.size >= 3 ? channels : undefined;
    });
    expect(sharded).toContain(`${world.env.REDIS_PREFIX}:route:all`);
    for (const node of cluster.nodes('master'))
      expect(await node.call('PUBSUB', 'CHANNELS', routeChannels)).toEqual([]);

    const queueKeys = await keysMatching(`${bullPrefix(world.env.REDIS_PREFIX)}:*`);
    expect(queueKeys.length).toBeGreaterThan(0);
    expect(new Set(queueKeys.map((key) => calculateSlot(key))).size).toBe(1);
  });
});
