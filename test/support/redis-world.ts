import { randomBytes } from 'node:crypto';
import { loadEnv } from '../../src/config/env.js';
import { createRedis, type RedisClient, RedisKeys } from '../../src/redis/redis.module.js';
import { deleteRedisPrefix } from './test-env.js';

/**
 * A Redis connection and key prefix of its own for the enclosing describe
 * block (for specs of classes that use Redis directly); the keys are deleted
 * after the block. Read `redis` and `keys` inside tests or hooks.
 */
export function useRedisWorld(name: string): {
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
} {
  const env = loadEnv(process.env);
  const keys = new RedisKeys(`snt_${name}_${randomBytes(4).toString('hex')}`);
  let redis: RedisClient | undefined;
  beforeAll(() => {
    redis = createRedis(env, { forWorker: true });
  });
  afterAll(async () => {
    redis?.disconnect();
    await deleteRedisPrefix(env, keys.prefix);
  });
  return {
    get redis() {
      if (!redis) throw new Error('useRedisWorld: read redis inside a test or hook');
      return redis;
    },
    keys,
  };
}
