import { loadEnv } from '../config/env.js';
import { useRedisWorld } from '../../test/support/redis-world.js';
import { createRedis } from './redis.module.js';
import type { Cluster, Redis } from 'ioredis';

// Busy for half a second inside Redis, then answers 1.
const SLOW_SCRIPT = `
local function micros(time) return tonumber(time[1]) * 1000000 + tonumber(time[2]) end
local start = micros(redis.call('TIME'))
while micros(redis.call('TIME')) - start < 500000 do end
return 1`;

type Writable = { _write: (...args: unknown[]) => void; _writev?: (...args: unknown[]) => void };

/** Notes 'write' each time the connection hands bytes to its socket. */
function recordWrites(redis: Redis, events: string[]): void {
  const socket = redis.stream as unknown as Writable | undefined;
  // A cluster's node that nothing was sent to yet has no socket.
  if (!socket) return;
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method]!.bind(socket);
    socket[method] = (...args: unknown[]) => {
      events.push('write');
      original(...args);
    };
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

// The standalone block runs in npm test, the cluster block in npm run
// test:cluster: each world's keys are on the Redis its block speaks to.
const onStandalone = process.env.REDIS_CLUSTER_NODES ? describe.skip : describe;
const onCluster = process.env.REDIS_CLUSTER_NODES ? describe : describe.skip;

onStandalone('the commands of a Redis connection of ours', () => {
  const world = useRedisWorld('writes');
  let redis: Redis;

  beforeAll(async () => {
    // The server's own connection, as createRedis configures it for a standalone Redis.
    redis = createRedis(loadEnv(process.env)) as Redis;
    await new Promise((resolve) => redis.once('ready', resolve));
  });
  afterAll(() => redis.disconnect());

  it('leave in one write when issued in one turn, each with its own reply', async () => {
    const key = world.keys.key('counter');
    const events: string[] = [];
    recordWrites(redis, events);
    const replies = await Promise.all(Array.from({ length: 10 }, () => redis.incr(key)));
    expect(replies).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events).toEqual(['write']);
  });

  it('are written at once, without waiting for the replies to earlier ones', async () => {
    const events: string[] = [];
    recordWrites(redis, events);
    const slow = redis.eval(SLOW_SCRIPT, 0).then((reply) => {
      events.push('slow reply');
      return reply;
    });
    await nextTurn();
    const ping = redis.ping().then((reply) => {
      events.push('ping reply');
      return reply;
    });
    await nextTurn();
    // The script still runs, and the ping has gone out behind it.
    expect(events).toEqual(['write', 'write']);
    expect(await Promise.all([slow, ping])).toEqual([1, 'PONG']);
    expect(events).toEqual(['write', 'write', 'slow reply', 'ping reply']);
  });
});

onCluster('the commands of a Redis Cluster connection of ours', () => {
  const world = useRedisWorld('writes-cluster');
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = createRedis(loadEnv(process.env)) as Cluster;
    await new Promise((resolve) => cluster.once('ready', resolve));
  });
  afterAll(() => cluster.disconnect());

  it('leave a node in one write when issued in one turn, each with its own reply', async () => {
    const key = world.keys.key('counter');
    // Its node's connection is made by the first command sent to it.
    await cluster.incr(key);
    const events: string[] = [];
    for (const node of cluster.nodes('master')) recordWrites(node, events);
    const replies = await Promise.all(Array.from({ length: 10 }, () => cluster.incr(key)));
    expect(replies).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(events).toEqual(['write']);
  });
});
