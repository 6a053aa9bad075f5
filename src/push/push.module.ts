import { Module } from '@nestjs/common';
import { ENV, type Env } from '../config/env.js';
import { DirectoryModule } from '../directory/directory.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { EndpointPolicy, PUSH_ALLOWED_HOSTS } from './endpoint-policy.js';
import { PushController } from './push.controller.js';
import { PushProcessor } from './push.processor.js';
import { PushSender } from './push-sender.js';
import { PushSubscriptionService } from './push-subscription.service.js';
import { PushSubscriptionsRepository } from './push-subscriptions.repository.js';
import { VapidKeys } from './vapid-keys.service.js';
import { WakeupService } from './wakeup.service.js';

/**
 * Wake-up pushes (docs/push.md), shared by every role: asking for them
 * (WakeupService), subscriptions and their end with the device, the VAPID keys.
 */
@Module({
  imports: [IdentityModule, MessagesModule],
  providers: [
    WakeupService,
    PushSubscriptionsRepository,
    PushSubscriptionService,
    VapidKeys,
    EndpointPolicy,
    {
      provide: PUSH_ALLOWED_HOSTS,
      inject: [ENV],
      useFactory: (env: Env) => env.PUSH_ALLOWED_HOSTS,
    },
  ],
  exports: [
    WakeupService,
    PushSubscriptionsRepository,
    PushSubscriptionService,
    VapidKeys,
    EndpointPolicy,
  ],
})
export class PushModule {}

/** The API side: the VAPID key and a device's subscription. */
@Module({ imports: [PushModule, IdentityModule], controllers: [PushController] })
export class PushApiModule {}

/** The worker side: sends the pushes. */
@Module({
  imports: [PushModule, DirectoryModule, MessagesModule],
  providers: [PushProcessor, PushSender],
})
export class PushWorkerModule {}
