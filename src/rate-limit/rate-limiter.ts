import { Inject, Injectable } from '@nestjs/common';
import {
  deleteKeysNaming,
  REDIS,
  REDIS_KEYS,
  RedisKeys,
  type RedisClient,
} from '../redis/redis.module.js';
import { Problem } from '../common/problem.js';

/** The counts a sliding-window decision is made from. */
export interface WindowCounts {
  /** Hits counted in the previous fixed window. */
  previous: number;
  /** Hits counted in the current fixed window, this one included. */
  current: number;
  /** How far into the current window we are, 0 to 1. */
  elapsed: number;
}

/**
 * Hits in the last `windowSeconds`, estimated from two fixed windows: the
 * previous window's count weighted by how much of it the sliding window still
 * covers. Unlike a bare fixed window, a burst at the end of one window and
 * another at the start of the next cannot double the limit, and a counter
 * does not fall to zero on a window boundary.
 */
export function slidingCount({ previous, current, elapsed }: WindowCounts): number {
  return previous * (1 - elapsed) + current;
}

/**
 * Whole seconds until one more hit would fit under `limit`, assuming no other
 * hit is counted meanwhile (`counts.current` without the refused hit).
 */
export function retryAfterSeconds(
  counts: WindowCounts,
  limit: number,
  windowSeconds: number,
): number {
  const { previous, current, elapsed } = counts;
  let waitFraction: number;
  if (current + 1 <= limit && previous > 0) {
    // Later in this window, once enough of the previous one has slid out.
    waitFraction = 1 - (limit - current - 1) / previous - elapsed;
  } else {
    // In the next window, where this window's count becomes the weighted one.
    const intoNext = current > 0 ? Math.max(0, 1 - (limit - 1) / current) : 0;
    waitFraction = 1 - elapsed + intoNext;
  }
  // (The epsilon keeps float noise such as 19.000000000000004 from adding a second.)
  return Math.max(1, Math.ceil(waitFraction * windowSeconds - 1e-9));
}

// Counts a hit in this window's counter (KEYS[1]; a new one lives ARGV[1]
// seconds: through the next window, where it is the previous count) and
// returns it with the previous window's count (KEYS[2]).
const COUNT_HIT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {current, tonumber(redis.call('GET', KEYS[2]) or '0')}`;

type WithHitScript = RedisClient & {
  countHit(key: string, previousKey: string, ttlSeconds: number): Promise<[number, number]>;
};

/**
 * Sliding-window counters in Redis, shared by every process. `hit` throws a
 * 429 problem with Retry-After once `limit` hits fall inside the last
 * `windowSeconds`; a refused hit is not counted.
 */
@Injectable()
export class RateLimiter {
  private readonly redis: WithHitScript;

  constructor(
    @Inject(REDIS) redis: RedisClient,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {
    if (!('countHit' in redis))
      redis.defineCommand('countHit', { numberOfKeys: 2, lua: COUNT_HIT });
    this.redis = redis as WithHitScript;
  }

  /** Deletes the counters whose subject names one of `ids` (an account that was deleted). */
  forget(ids: string[]): Promise<number> {
    return deleteKeysNaming(this.redis, this.keys.key('ratelimit', '*'), ids);
  }

  async hit(
    scope: string,
    subject: string,
    limit: number,
    windowSeconds: number,
    nowMs = Date.now(),
  ): Promise<void> {
    const windowMs = windowSeconds * 1000;
    const window = Math.floor(nowMs / windowMs);
    // The subject is the keys' hash tag: on a cluster both windows' counters
    // share a slot, so that one script reads them.
    const tag = `{${subject}}`;
    const key = this.keys.key('ratelimit', scope, tag, String(window));
    const previousKey = this.keys.key('ratelimit', scope, tag, String(window - 1));
    // One script rather than three commands: every send, stream and request
    // counts a hit, and each command is a round of work in ioredis and Redis.
    // A defined command still shares its turn's one write (writes-per-turn.ts).
    const [current, previous] = await this.redis.countHit(key, previousKey, 2 * windowSeconds + 1);
    const counts = {
      previous,
      current,
      elapsed: (nowMs % windowMs) / windowMs,
    };
    if (slidingCount(counts) > limit) {
      await this.redis.decr(key);
      throw Problem.tooManyRequests(
        retryAfterSeconds({ ...counts, current: current - 1 }, limit, windowSeconds),
      );
    }
  }
}
