import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  perSlot,
  REDIS,
  REDIS_KEYS,
  type RedisClient,
  type RedisKeys,
} from '../redis/redis.module.js';

/**
 * A device's notice number: the n-th message addressed to it, counted in
 * Redis when each accepted message had committed. `epoch` is drawn when the
 * device's counter is created, so a counter that Redis lost and began again
 * never passes for the old one.
 */
export interface NoticeNumber {
  epoch: string;
  n: number;
}

/** What `last` answers for a device that has no counter: its next number is its first. */
export const NO_NOTICE_YET: NoticeNumber = { epoch: '', n: 0 };

/** Whether `next` is the number right after `last` (the same counter, one more). */
export function followsDirectly(last: NoticeNumber, next: NoticeNumber): boolean {
  if (last.epoch === NO_NOTICE_YET.epoch) return next.n === 1;
  return next.epoch === last.epoch && next.n === last.n + 1;
}

// One call numbers a message for all its devices (the keys); ARGV[1] is the
// epoch of a counter created now. Returns "epoch:n" per key.
const TAKE = `
local taken = {}
for i, key in ipairs(KEYS) do
  redis.call('HSETNX', key, 'e', ARGV[1])
  local n = redis.call('HINCRBY', key, 'n', 1)
  taken[i] = redis.call('HGET', key, 'e') .. ':' .. n
end
return taken`;

type WithTake = RedisClient & {
  takeNoticeNumbers(keyCount: number, ...keysThenEpoch: string[]): Promise<string[]>;
};

/**
 * Numbers, per device, the messages addressed to it, in the order they were
 * numbered after their commits. A socket that has been sent everything up to
 * number n knows that no message numbered before n + 1 is still on its way
 * to it, so it may send n + 1 straight from memory (docs/delivery.md).
 */
@Injectable()
export class NoticeNumbers {
  private readonly redis: WithTake;

  constructor(
    @Inject(REDIS) redis: RedisClient,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {
    if (!('takeNoticeNumbers' in redis)) redis.defineCommand('takeNoticeNumbers', { lua: TAKE });
    this.redis = redis as WithTake;
  }

  /** The next number of each device, in the order of `deviceIds`. */
  async take(deviceIds: string[]): Promise<NoticeNumber[]> {
    if (deviceIds.length === 0) return [];
    // Each device's counter stands alone: on a cluster, one call per hash slot.
    const epoch = this.nextEpoch();
    const taken = await perSlot(
      this.redis,
      deviceIds.map((deviceId) => this.keyOf(deviceId)),
      (keys) => this.redis.takeNoticeNumbers(keys.length, ...keys, epoch),
    );
    return taken.map(parseNotice);
  }

  /** Forgets a device's counter (it was revoked: nothing is numbered for it again). */
  async forget(deviceId: string): Promise<void> {
    await this.redis.del(this.keyOf(deviceId));
  }

  /** The last number the device was given; NO_NOTICE_YET when it has no counter. */
  async last(deviceId: string): Promise<NoticeNumber> {
    const [epoch, n] = await this.redis.hmget(this.keyOf(deviceId), 'e', 'n');
    return epoch === null ? NO_NOTICE_YET : { epoch, n: Number(n ?? 0) };
  }

  // An epoch only has to differ from that of any counter lost before: a
  // random prefix per process and a sequence within it are unique without a
  // call for random bytes per message (a system call, costly on this kind of VM).
  private readonly epochPrefix = randomBytes(6).toString('base64url');
  private epochsDrawn = 0;

  private nextEpoch(): string {
    this.epochsDrawn += 1;
    return `${this.epochPrefix}.${this.epochsDrawn.toString(36)}`;
  }

  private keyOf(deviceId: string): string {
    return this.keys.key('notice', deviceId);
  }
}

function parseNotice(taken: string): NoticeNumber {
  const separator = taken.lastIndexOf(':');
  return { epoch: taken.slice(0, separator), n: Number(taken.slice(separator + 1)) };
}
