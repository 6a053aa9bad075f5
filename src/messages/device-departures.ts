import { Injectable, OnModuleInit } from '@nestjs/common';
import { DeviceLifecycle } from '../identity/device-lifecycle.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { DeviceQueues } from './device-queues.js';
import { EphemeralSendService } from './ephemeral-send.service.js';
import { NoticeNumbers } from './notice-numbers.js';

/** What messages lets go of when a device is revoked or an account deleted. */
@Injectable()
export class DeviceDepartures implements OnModuleInit {
  constructor(
    private readonly repository: DeliveriesRepository,
    private readonly queues: DeviceQueues,
    private readonly ephemeral: EphemeralSendService,
    private readonly lifecycle: DeviceLifecycle,
    private readonly noticeNumbers: NoticeNumbers,
  ) {}

  onModuleInit(): void {
    // A revoked device's pending messages end with it, in the same transaction.
    this.lifecycle.onRevokedInTransaction((device, tx) =>
      this.repository.dropDeviceDeliveries(tx, device.deviceId, device.reason),
    );
    this.lifecycle.onRevokedAfterCommit(async (device) => {
      await Promise.all([
        this.noticeNumbers.forget(device.deviceId),
        this.queues.forget(device.deviceId),
      ]);
    });
    this.lifecycle.onAccountDeletedAfterCommit(async (account) => {
      await this.ephemeral.forgetClaimsOf(account.deviceIds);
    });
  }
}
