import { Cluster } from 'ioredis';
import type { RedisClient, RedisKeys } from '../redis/redis.module.js';
import type { DeviceRouter, RoutedEvent, RoutedEventHandler } from './device-router.js';

/**
 * Routing over Redis pub/sub: one channel per process and one broadcast
 * channel. Fire-and-forget by design: a lost event only delays delivery until
 * the device's next sync, since the message is still pending in PostgreSQL.
 *
 * On a Redis Cluster, sharded pub/sub (SPUBLISH, SSUBSCRIBE): a channel
 * lives on the shard of its slot, so an event crosses one shard instead of
 * being copied to every node of the cluster, as classic PUBLISH is.
 */
export class RedisPubSubRouter implements DeviceRouter {
  private subscriber: RedisClient | undefined;
  private listener: { processId: string; handler: RoutedEventHandler } | undefined;
  private readonly sharded: boolean;

  constructor(
    private readonly publisher: RedisClient,
    private readonly keys: RedisKeys,
    private readonly openSubscriber: () => RedisClient,
  ) {
    this.sharded = publisher instanceof Cluster;
  }

  listen(processId: string, handler: RoutedEventHandler): Promise<void> {
    this.listener = { processId, handler };
    const subscriber = (this.subscriber = this.openSubscriber());
    subscriber.on('error', () => undefined);
    subscriber.on(this.sharded ? 'smessage' : 'message', (_channel: string, payload: string) => {
      handler(JSON.parse(payload) as RoutedEvent);
    });
    const channels = [this.processChannel(processId), this.broadcastChannel()];
    // Not awaited: with Redis down the boot goes on, and ioredis subscribes
    // (and re-subscribes after any reconnect) as soon as it can. One
    // SSUBSCRIBE per channel: the channels of one must share a slot.
    const subscribed = this.sharded
      ? Promise.all(channels.map((channel) => subscriber.ssubscribe(channel)))
      : subscriber.subscribe(...channels);
    subscribed.catch(() => undefined);
    return Promise.resolve();
  }

  async sendTo(processId: string, event: RoutedEvent): Promise<void> {
    // An event for this very process needs no trip through Redis.
    if (processId === this.listener?.processId) {
      queueMicrotask(() => this.listener?.handler(event));
      return;
    }
    await this.publish(this.processChannel(processId), JSON.stringify(event));
  }

  async broadcast(event: RoutedEvent): Promise<void> {
    await this.publish(this.broadcastChannel(), JSON.stringify(event));
  }

  private async publish(channel: string, payload: string): Promise<void> {
    if (this.sharded) await this.publisher.spublish(channel, payload);
    else await this.publisher.publish(channel, payload);
  }

  close(): Promise<void> {
    this.subscriber?.disconnect();
    return Promise.resolve();
  }

  private processChannel(processId: string): string {
    return this.keys.key('route', processId);
  }

  private broadcastChannel(): string {
    return this.keys.key('route', 'all');
  }
}
