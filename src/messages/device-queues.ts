import { Inject, Injectable } from '@nestjs/common';
import { Batcher } from '../common/batcher.js';
import { ENV, type Env } from '../config/env.js';
import {
  perSlot,
  REDIS,
  REDIS_KEYS,
  type RedisClient,
  type RedisKeys,
} from '../redis/redis.module.js';

// Takes ARGV[i] messages off the queue of KEYS[i]; the bytes go down in
// proportion (the acks and the purge know how many messages went, not their
// sizes), and both are exact again whenever a queue empties. Returns what
// each queue still holds.
const RELEASE = `
local left = {}
for i, key in ipairs(KEYS) do
  local m = tonumber(redis.call('HGET', key, 'm') or '0')
  local b = tonumber(redis.call('HGET', key, 'b') or '0')
  local count = tonumber(ARGV[i])
  if m <= count then
    redis.call('DEL', key)
    left[i] = 0
  else
    redis.call('HSET', key, 'm', m - count, 'b', math.max(0, b - math.floor(b * count / m)))
    left[i] = m - count
  end
end
return left`;

// Takes a place for one message of ARGV[1] bytes in each device's queue that
// has room (ARGV[2] messages, ARGV[3] bytes at most); returns 1 per key that
// had none. ARGV[4]: the counters' time to live.
const RESERVE = `
local full = {}
for i, key in ipairs(KEYS) do
  local m = tonumber(redis.call('HGET', key, 'm') or '0')
  local b = tonumber(redis.call('HGET', key, 'b') or '0')
  if m + 1 > tonumber(ARGV[2]) or b + tonumber(ARGV[1]) > tonumber(ARGV[3]) then
    full[i] = 1
  else
    redis.call('HINCRBY', key, 'm', 1)
    redis.call('HINCRBY', key, 'b', ARGV[1])
    redis.call('EXPIRE', key, ARGV[4])
    full[i] = 0
  end
end
return full`;

// Gives back places taken by RESERVE for a message that was not stored.
const UNRESERVE = `
for i, key in ipairs(KEYS) do
  local m = redis.call('HINCRBY', key, 'm', -1)
  local b = redis.call('HINCRBY', key, 'b', -tonumber(ARGV[1]))
  if m <= 0 or b < 0 then redis.call('DEL', key) end
end
return 0`;

interface Release {
  deviceId: string;
  count: number;
}

type WithQueueScripts = RedisClient & {
  releaseQueues(keyCount: number, ...keysThenCounts: (string | number)[]): Promise<number[]>;
  reserveQueues(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
  unreserveQueues(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number>;
};

/**
 * How much each device holds pending (messages and ciphertext bytes), for
 * the queue limits (docs/retention.md). Counted in Redis, beside the other
 * per-device counters: a send reads them before it stores (one round trip,
 * alongside the coverage check's), taking its place at once, and gives it
 * back when the message is not stored; acks, the purge and revocation take
 * off. Bounded, not exact: sends in flight at
 * once can each see the last free place, and after Redis loses its data the
 * counts start again from zero while older messages wait.
 */
@Injectable()
export class DeviceQueues {
  private readonly redis: WithQueueScripts;
  // Every ack releases its device's places: when many devices ack at once
  // (a message to a large group), one script call instead of one each.
  private readonly releases = new Batcher((releases: Release[]) => this.releaseAll(releases));

  constructor(
    @Inject(REDIS) redis: RedisClient,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(ENV) private readonly env: Env,
  ) {
    if (!('releaseQueues' in redis)) {
      redis.defineCommand('releaseQueues', { lua: RELEASE });
      redis.defineCommand('reserveQueues', { lua: RESERVE });
      redis.defineCommand('unreserveQueues', { lua: UNRESERVE });
    }
    this.redis = redis as WithQueueScripts;
  }

  /**
   * Takes a place for a message of `bodyBytes` in each device's queue that
   * has room, in one call; returns the devices that had none. A message that
   * is then not stored gives its places back (`unreserve`).
   */
  async reserve(deviceIds: string[], bodyBytes: number): Promise<Set<string>> {
    if (deviceIds.length === 0) return new Set();
    // Each device's counter stands alone: on a cluster, one call per hash slot.
    const full = await perSlot(
      this.redis,
      deviceIds.map((deviceId) => this.keyOf(deviceId)),
      (keys) =>
        this.redis.reserveQueues(
          keys.length,
          ...keys,
          bodyBytes,
          this.env.MAX_PENDING_MESSAGES_PER_DEVICE,
          this.env.MAX_PENDING_BYTES_PER_DEVICE,
          // Nothing pending outlives MAX_TTL_SECONDS: a counter nobody adds to for longer goes.
          this.env.MAX_TTL_SECONDS + 3600,
        ),
    );
    return new Set(deviceIds.filter((_deviceId, index) => full[index] === 1));
  }

  /** Gives back the places `reserve` took for a message that was not stored. */
  async unreserve(deviceIds: string[], bodyBytes: number): Promise<void> {
    if (deviceIds.length === 0) return;
    await perSlot(
      this.redis,
      deviceIds.map((deviceId) => this.keyOf(deviceId)),
      async (keys) => {
        await this.redis.unreserveQueues(keys.length, ...keys, bodyBytes);
        return keys;
      },
    );
  }

  /** `count` of the device's messages went (acked or expired). */
  async released(deviceId: string, count: number): Promise<void> {
    if (count > 0) await this.releases.load({ deviceId, count });
  }

  /** The releases of one event-loop turn, summed per device: one call (per slot) for them all. */
  private async releaseAll(releases: Release[]): Promise<void[]> {
    const counts = new Map<string, number>();
    for (const { deviceId, count } of releases) {
      const key = this.keyOf(deviceId);
      counts.set(key, (counts.get(key) ?? 0) + count);
    }
    await perSlot(this.redis, [...counts.keys()], (keys) =>
      this.redis.releaseQueues(keys.length, ...keys, ...keys.map((key) => counts.get(key) ?? 0)),
    );
    return releases.map(() => undefined);
  }

  /** The device is gone (revoked): so is its queue. */
  async forget(deviceId: string): Promise<void> {
    await this.redis.del(this.keyOf(deviceId));
  }

  private keyOf(deviceId: string): string {
    return this.keys.key('queue', deviceId);
  }
}
