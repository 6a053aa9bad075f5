import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ENV, type Env } from '../config/env.js';
import { REDIS, REDIS_KEYS, type RedisKeys } from '../redis/redis.module.js';

// Takes `count` messages off a device's queue; the bytes go down in
// proportion (the acks and the purge know how many messages went, not their
// sizes), and both are exact again whenever the queue empties.
const RELEASE = `
local m = tonumber(redis.call('HGET', KEYS[1], 'm') or '0')
local b = tonumber(redis.call('HGET', KEYS[1], 'b') or '0')
local count = tonumber(ARGV[1])
if m <= count then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'm', m - count, 'b', math.max(0, b - math.floor(b * count / m)))
return m - count`;

type WithRelease = Redis & { releaseQueue(keys: 1, key: string, count: number): Promise<number> };

/**
 * How much each device holds pending (messages and ciphertext bytes), for
 * the queue limits (docs/retention.md). Counted in Redis, beside the other
 * per-device counters: a send reads them before it stores (one round trip,
 * alongside the rate limit's), and adds to them after its commit; acks, the
 * purge and revocation take off. Bounded, not exact: sends in flight at
 * once can each see the last free place, and after Redis loses its data the
 * counts start again from zero while older messages wait.
 */
@Injectable()
export class DeviceQueues {
  private readonly redis: WithRelease;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(ENV) private readonly env: Env,
  ) {
    if (!('releaseQueue' in redis)) redis.defineCommand('releaseQueue', { lua: RELEASE });
    this.redis = redis as WithRelease;
  }

  /** Those of the devices that have no room for one more message of `bodyBytes`. */
  async fullAmong(deviceIds: string[], bodyBytes: number): Promise<Set<string>> {
    const held = await Promise.all(
      deviceIds.map((deviceId) => this.redis.hmget(this.keyOf(deviceId), 'm', 'b')),
    );
    const full = new Set<string>();
    deviceIds.forEach((deviceId, index) => {
      const [messages, bytes] = held[index].map((value) => Number(value ?? 0));
      if (
        messages + 1 > this.env.MAX_PENDING_MESSAGES_PER_DEVICE ||
        bytes + bodyBytes > this.env.MAX_PENDING_BYTES_PER_DEVICE
      )
        full.add(deviceId);
    });
    return full;
  }

  /** A message of `bodyBytes` was stored for these devices. */
  async added(deviceIds: string[], bodyBytes: number): Promise<void> {
    // Nothing pending outlives MAX_TTL_SECONDS: a counter nobody adds to for longer goes.
    const ttl = this.env.MAX_TTL_SECONDS + 3600;
    await Promise.all(
      deviceIds.flatMap((deviceId) => {
        const key = this.keyOf(deviceId);
        return [
          this.redis.hincrby(key, 'm', 1),
          this.redis.hincrby(key, 'b', bodyBytes),
          this.redis.expire(key, ttl),
        ];
      }),
    );
  }

  /** `count` of the device's messages went (acked or expired). */
  async released(deviceId: string, count: number): Promise<void> {
    if (count > 0) await this.redis.releaseQueue(1, this.keyOf(deviceId), count);
  }

  /** The device is gone (revoked): so is its queue. */
  async forget(deviceId: string): Promise<void> {
    await this.redis.del(this.keyOf(deviceId));
  }

  private keyOf(deviceId: string): string {
    return this.keys.key('queue', deviceId);
  }
}
