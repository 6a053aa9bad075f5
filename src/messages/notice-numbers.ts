import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Batcher } from '../common/batcher.js';
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

// One call numbers messages for all their devices (the keys, in order: a
// device named twice gets two numbers); ARGV[1] is the epoch of a counter
// created now. Returns "epoch:n" per key.
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

  // A message is numbered at once when no numbering is under way; the
  // messages accepted meanwhile (under load, an insert batch's sends resume
  // together) are numbered in one call when it is done. Not at the end of
  // the turn: every message's frames wait for their numbers. A batch stops
  // at about this many devices, so that one call never holds Redis for long.
  private readonly takes = new Batcher((messages: string[][]) => this.takeAll(messages), {
    maxInFlight: 1,
    startAtOnce: true,
    weightOf: (deviceIds) => deviceIds.length,
    maxWeight: 2000,
  });

  /** The next number of each device, in the order of `deviceIds`. */
  async take(deviceIds: string[]): Promise<NoticeNumber[]> {
    if (deviceIds.length === 0) return [];
    return this.takes.load(deviceIds);
  }

  /** Numbers each message for its devices, in the order of `messages`. */
  private async takeAll(messages: string[][]): Promise<NoticeNumber[][]> {
    const keys = messages.flatMap((deviceIds) => deviceIds.map((deviceId) => this.keyOf(deviceId)));
    // Each device's counter stands alone: on a cluster, one call per hash slot.
    const epoch = this.nextEpoch();
    const taken = await perSlot(this.redis, keys, (slotKeys) =>
      this.redis.takeNoticeNumbers(slotKeys.length, ...slotKeys, epoch),
    );
    let next = 0;
    return messages.map((deviceIds) =>
      taken.slice(next, (next += deviceIds.length)).map(parseNotice),
    );
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
