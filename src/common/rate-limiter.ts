import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS, REDIS_KEYS, RedisKeys } from '../redis/redis.module.js';
import { Problem } from './problem.js';

/**
 * Fixed-window counters in Redis, shared by every process. `hit` throws a 429
 * problem with Retry-After once `limit` is passed inside the window.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  async hit(scope: string, subject: string, limit: number, windowSeconds: number): Promise<void> {
    const window = Math.floor(Date.now() / 1000 / windowSeconds);
    const key = this.keys.key('ratelimit', scope, subject, String(window));
    const results = await this.redis
      .multi()
      .incr(key)
      .expire(key, windowSeconds + 1)
      .exec();
    const count = Number(results?.[0]?.[1] ?? 0);
    if (count > limit) {
      const retryAfter = (window + 1) * windowSeconds - Math.floor(Date.now() / 1000);
      throw Problem.tooManyRequests(Math.max(1, retryAfter));
    }
  }
}
