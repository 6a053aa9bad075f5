import { Injectable } from '@nestjs/common';
import { IdentityService } from '../identity/identity.service.js';
import { MessageStatusService } from '../messages/message-status.service.js';
import { LiveRoutingService } from './live-routing.service.js';

const NOTIFY_BATCH = 1000;

/**
 * Tells senders that messages expired unread: each connected device of the
 * sender's account gets `{"type":"expired","messageId","deviceIds"}` from
 * whichever process holds it (PROTOCOL.md, v1 additions). Devices that are not
 * connected learn it from the message's status, which says `expired` for a
 * week. Runs after each purge, on the worker.
 */
@Injectable()
export class ExpiryNotifier {
  constructor(
    private readonly statuses: MessageStatusService,
    private readonly identity: IdentityService,
    private readonly routing: LiveRoutingService,
  ) {}

  /** Sends every notice owed; returns how many messages it told of. */
  async notifyOwed(): Promise<number> {
    let told = 0;
    for (;;) {
      const batch = await this.statuses.takeExpiredToNotify(NOTIFY_BATCH);
      if (batch.length === 0) return told;
      const accounts = [...new Set(batch.map((expired) => expired.senderAccountId))];
      const devicesOf = new Map<string, string[]>();
      for (const device of await this.identity.currentDeviceIdsOf(accounts)) {
        devicesOf.set(device.accountId, [...(devicesOf.get(device.accountId) ?? []), device.id]);
      }
      await this.routing.routeExpiries(
        batch.map((expired) => ({
          messageId: expired.messageId,
          expiredDeviceIds: expired.deviceIds,
          deviceIds: devicesOf.get(expired.senderAccountId) ?? [],
        })),
      );
      told += batch.length;
    }
  }
}
