import { Module } from '@nestjs/common';
import { DirectoryModule } from '../directory/directory.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { PushModule } from '../push/push.module.js';
import { ENV, type Env } from '../config/env.js';
import {
  createRedis,
  REDIS,
  REDIS_KEYS,
  type RedisClient,
  type RedisKeys,
} from '../redis/redis.module.js';
import { DEVICE_ROUTER } from './device-router.js';
import { ExpiryNotifier } from './expiry.notifier.js';
import { FanoutProducer } from './fanout.producer.js';
import { LiveRoutingService } from './live-routing.service.js';
import { RedisPubSubRouter } from './redis-pubsub.router.js';

/** Routing between processes and the fan-out queue: shared by the API and the workers. */
@Module({
  imports: [DirectoryModule, MessagesModule, PushModule, IdentityModule],
  providers: [
    {
      provide: DEVICE_ROUTER,
      inject: [REDIS, REDIS_KEYS, ENV],
      // A subscribed connection can do nothing else: the router opens its own,
      // which waits for Redis rather than failing, and re-subscribes after a reconnect.
      useFactory: (redis: RedisClient, keys: RedisKeys, env: Env) =>
        new RedisPubSubRouter(redis, keys, () => createRedis(env, { subscriber: true })),
    },
    LiveRoutingService,
    FanoutProducer,
    ExpiryNotifier,
  ],
  exports: [DEVICE_ROUTER, LiveRoutingService, FanoutProducer, ExpiryNotifier],
})
export class LiveModule {}
