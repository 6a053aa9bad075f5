import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { DRIZZLE, type Database } from '../db/db.module.js';
import { DeviceLifecycle } from '../identity/device-lifecycle.js';
import type { PushSubscriptionDto } from './dto/push.dto.js';
import { EndpointPolicy } from './endpoint-policy.js';
import { PushSubscriptionsRepository } from './push-subscriptions.repository.js';
import { WakeupService } from './wakeup.service.js';

/** A device's Web Push subscription: stored when its endpoint passes the policy, gone with the device. */
@Injectable()
export class PushSubscriptionService implements OnModuleInit {
  constructor(
    private readonly repository: PushSubscriptionsRepository,
    private readonly lifecycle: DeviceLifecycle,
    private readonly wakeups: WakeupService,
    private readonly policy: EndpointPolicy,
    @Inject(DRIZZLE) private readonly db: Database,
  ) {}

  onModuleInit(): void {
    // A revoked device is never pushed to again: its subscription goes with the revocation.
    this.lifecycle.onRevokedInTransaction((device, tx) =>
      this.repository.delete(tx, device.deviceId),
    );
    this.lifecycle.onRevokedAfterCommit((device) => this.wakeups.clear(device.deviceId));
  }

  async subscribe(deviceId: string, subscription: PushSubscriptionDto): Promise<void> {
    const refusal = await this.policy.refusal(subscription.endpoint);
    if (refusal) {
      throw Problem.badRequest('push_endpoint_refused', `endpoint: ${refusal}`, {
        errors: [{ field: 'endpoint', message: refusal }],
      });
    }
    await this.repository.save({
      deviceId,
      endpoint: subscription.endpoint,
      p256dh: subscription.keys.p256dh,
      auth: subscription.keys.auth,
    });
  }

  async unsubscribe(deviceId: string): Promise<void> {
    await this.repository.delete(this.db, deviceId);
  }
}
