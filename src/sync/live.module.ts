import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DirectoryModule } from '../directory/directory.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { PushModule } from '../push/push.module.js';
import { REDIS, REDIS_KEYS, type RedisKeys } from '../redis/redis.module.js';
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
      inject: [REDIS, REDIS_KEYS],
      useFactory: (redis: Redis, keys: RedisKeys) => new RedisPubSubRouter(redis, keys),
    },
    LiveRoutingService,
    FanoutProducer,
    ExpiryNotifier,
  ],
  exports: [DEVICE_ROUTER, LiveRoutingService, FanoutProducer, ExpiryNotifier],
})
export class LiveModule {}
