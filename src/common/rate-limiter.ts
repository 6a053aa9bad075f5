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
    // Two plain commands rather than a MULTI, so that auto-pipelining puts the
    // hits of one event-loop turn into one write. SET NX gives a new window's
    // key its expiry before INCR counts (a counter can never outlive its window).
    const [, count] = await Promise.all([
      this.redis.set(key, 0, 'EX', windowSeconds + 1, 'NX'),
      this.redis.incr(key),
    ]);
    if (count > limit) {
      const retryAfter = (window + 1) * windowSeconds - Math.floor(Date.now() / 1000);
      throw Problem.tooManyRequests(Math.max(1, retryAfter));
    }
  }
}
