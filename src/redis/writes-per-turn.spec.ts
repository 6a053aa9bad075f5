import { loadEnv } from '../config/env.js';
import { useRedisWorld } from '../../test/support/redis-world.js';
import { createRedis, type RedisClient } from './redis.module.js';
import { Cluster, type Redis } from 'ioredis';

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

// On a standalone Redis in npm test, on a cluster in npm run test:cluster.
const onCluster = Boolean(process.env.REDIS_CLUSTER_NODES);

describe('the commands of a Redis connection of ours', () => {
  const world = useRedisWorld('writes');
  let redis: RedisClient;

  beforeAll(async () => {
    // The server's own connection, as createRedis configures it.
    redis = createRedis(loadEnv(process.env));
    await new Promise((resolve) => redis.once('ready', resolve));
  });
  afterAll(() => redis.disconnect());

  it('leave a Redis (a cluster: a node) in one write when issued in one turn, each with its own reply', async () => {
    const key = world.keys.key('counter');
    // A cluster makes the connection to a key's node with the first command sent to it.
    await redis.incr(key);
    const events: string[] = [];
    for (const connection of redis instanceof Cluster ? redis.nodes('master') : [redis])
      recordWrites(connection, events);
    const replies = await Promise.all(Array.from({ length: 10 }, () => redis.incr(key)));
    expect(replies).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(events).toEqual(['write']);
  });

  // A script and a command without keys may go to different nodes of a cluster.
  (onCluster ? it.skip : it)(
    'are written at once, without waiting for the replies to earlier ones',
    async () => {
      const events: string[] = [];
      recordWrites(redis as Redis, events);
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
    },
  );
});
