import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/redis.module.js';
import type { DeviceRouter, RoutedEvent, RoutedEventHandler } from './device-router.js';

/**
 * Routing over Redis pub/sub: one channel per process and one broadcast
 * channel. Fire-and-forget by design: a lost event only delays delivery until
 * the device's next sync, since the message is still pending in PostgreSQL.
 */
export class RedisPubSubRouter implements DeviceRouter {
  private subscriber: Redis | undefined;
  private listener: { processId: string; handler: RoutedEventHandler } | undefined;

  constructor(
    private readonly publisher: Redis,
    private readonly keys: RedisKeys,
  ) {}

  listen(processId: string, handler: RoutedEventHandler): Promise<void> {
    this.listener = { processId, handler };
    // A subscribed connection can do nothing else: it gets its own.
    this.subscriber = this.publisher.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, payload: string) => {
      handler(JSON.parse(payload) as RoutedEvent);
    });
    // Not awaited: with Redis down the boot goes on, and ioredis subscribes
    // (and re-subscribes after any reconnect) as soon as it can.
    this.subscriber
      .subscribe(this.processChannel(processId), this.broadcastChannel())
      .catch(() => undefined);
    return Promise.resolve();
  }

  async sendTo(processId: string, event: RoutedEvent): Promise<void> {
    // An event for this very process needs no trip through Redis.
    if (processId === this.listener?.processId) {
      queueMicrotask(() => this.listener?.handler(event));
      return;
    }
    await this.publisher.publish(this.processChannel(processId), JSON.stringify(event));
  }

  async broadcast(event: RoutedEvent): Promise<void> {
    await this.publisher.publish(this.broadcastChannel(), JSON.stringify(event));
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
