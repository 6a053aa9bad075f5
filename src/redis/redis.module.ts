import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AfterCommitWork } from '../common/after-commit.js';
import { Redis } from 'ioredis';
import { ENV, type Env } from '../config/env.js';

export const REDIS = Symbol('redis:client');
export const REDIS_KEYS = Symbol('redis:keys');

/** Builds every Redis key of ours under the configured prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}

/**
 * Deletes the keys matching `pattern` whose name contains one of `ids`, in one
 * SCAN pass (a walk of the whole keyspace in batches: for rare clean-ups, such
 * as an account's deletion, never on a hot path). Returns how many went.
 */
export async function deleteKeysNaming(
  redis: Redis,
  pattern: string,
  ids: string[],
): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    const naming = keys.filter((key) => ids.some((id) => key.includes(id)));
    if (naming.length > 0) deleted += await redis.unlink(...naming);
  } while (cursor !== '0');
  return deleted;
}

export function createRedis(env: Env, options: { forWorker?: boolean } = {}): Redis {
  return new Redis(env.REDIS_URL, {
    // Commands fail fast while Redis is down instead of queueing forever:
    // requests answer 503 rather than hang. BullMQ workers need null here.
    maxRetriesPerRequest: options.forWorker ? null : 1,
    enableOfflineQueue: options.forWorker ?? false,
    connectTimeout: 3000,
    lazyConnect: false,
    // Commands issued in the same event-loop turn go out in one write.
    enableAutoPipelining: true,
  });
}

/** Waits for the first connection; a Redis that is down does not stop the boot (readiness says 503). */
function waitUntilReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly afterCommit: AfterCommitWork,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.afterCommit.settled();
    this.redis.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ENV],
      useFactory: async (env: Env) => {
        const redis = createRedis(env);
        // Errors surface on the commands that need Redis; the event must not crash.
        redis.on('error', () => undefined);
        await waitUntilReady(redis, 3000);
        return redis;
      },
    },
    {
      provide: REDIS_KEYS,
      inject: [ENV],
      useFactory: (env: Env) => new RedisKeys(env.REDIS_PREFIX),
    },
    RedisCloser,
  ],
  exports: [REDIS, REDIS_KEYS],
})
export class RedisModule {}
