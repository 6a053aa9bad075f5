import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS, REDIS_KEYS, type RedisKeys } from '../redis/redis.module.js';

/**
 * Devices that have messages waiting and no live connection: a sorted set of
 * device ids by the time they were first marked. The push sender (a later
 * issue) takes devices from here and sends them a wake-up.
 */
@Injectable()
export class WakeupService {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  async request(deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    const now = Date.now();
    // NX keeps the earliest time, so a device's wait is measured from its first message.
    await this.redis.zadd(
      this.key(),
      'NX',
      ...deviceIds.flatMap((deviceId) => [String(now), deviceId]),
    );
  }

  /** Devices waiting for a wake-up, oldest first. */
  async waiting(limit = 100): Promise<string[]> {
    return this.redis.zrange(this.key(), '0', String(limit - 1));
  }

  async clear(deviceId: string): Promise<void> {
    await this.redis.zrem(this.key(), deviceId);
  }

  private key(): string {
    return this.keys.key('wakeup');
  }
}
