import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ENV, type Env } from '../config/env.js';
import {
  REDIS,
  REDIS_KEYS,
  type RedisKeys,
  type RedisClient,
  perSlot,
} from '../redis/redis.module.js';

// Deletes the key only if this process still owns it: a device that moved to
// another process must not be marked offline by the old one.
const CLEAR_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Which process holds each device's live connection: `presence:<deviceId>` →
 * process id, with a TTL that heartbeats renew, so a crashed process's
 * devices fall offline on their own.
 */
@Injectable()
export class PresenceService {
  /** This process's id, for routing. */
  readonly processId = randomUUID();
  private readonly ttlSeconds: number;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(ENV) env: Env,
  ) {
    this.ttlSeconds = env.WS_HEARTBEAT_SECONDS * 3;
  }

  async markOnline(deviceId: string): Promise<void> {
    await this.redis.set(this.keyOf(deviceId), this.processId, 'EX', this.ttlSeconds);
  }

  /**
   * Renews presence of the given devices; returns those whose key had been
   * lost (expired or flushed), whose live messages may have gone unrouted.
   */
  async refresh(deviceIds: string[]): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    // One command per key (a cluster spreads them over its nodes); those
    // to one Redis (or one node) leave in one write (writes-per-turn.ts).
    const previous = await Promise.all(
      deviceIds.map((deviceId) =>
        this.redis.set(this.keyOf(deviceId), this.processId, 'EX', this.ttlSeconds, 'GET'),
      ),
    );
    return deviceIds.filter((_deviceId, index) => previous[index] !== this.processId);
  }

  /** Forgets a revoked device's presence, whichever process held it. */
  async forget(deviceId: string): Promise<void> {
    await this.redis.del(this.keyOf(deviceId));
  }

  async markOffline(deviceId: string): Promise<void> {
    await this.redis.eval(CLEAR_IF_OWNER, 1, this.keyOf(deviceId), this.processId);
  }

  /** The process holding each connected device; devices not connected are absent. */
  async locate(deviceIds: string[]): Promise<Map<string, string>> {
    const located = new Map<string, string>();
    if (deviceIds.length === 0) return located;
    // One MGET per hash slot on a cluster, one in all on a standalone Redis.
    const owners = await perSlot(
      this.redis,
      deviceIds.map((deviceId) => this.keyOf(deviceId)),
      (keys) => this.redis.mget(keys),
    );
    deviceIds.forEach((deviceId, index) => {
      const owner = owners[index];
      if (owner) located.set(deviceId, owner);
    });
    return located;
  }

  private keyOf(deviceId: string): string {
    return this.keys.key('presence', deviceId);
  }
}
