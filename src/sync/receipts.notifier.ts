import { describeError } from '../common/describe-error.js';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { IdentityService } from '../identity/identity.service.js';
import { MessageEvents } from '../messages/message-events.js';
import type { AckedMessage } from '../messages/messages.repository.js';
import { LiveRoutingService } from './live-routing.service.js';

/**
 * When a device acks a message, the sender's connected devices get a receipt
 * frame. Best effort: the status endpoint is the record.
 */
@Injectable()
export class ReceiptsNotifier implements OnModuleInit {
  private readonly logger = new Logger(ReceiptsNotifier.name);

  constructor(
    private readonly events: MessageEvents,
    private readonly identity: IdentityService,
    private readonly routing: LiveRoutingService,
  ) {}

  onModuleInit(): void {
    this.events.onAcked((deviceId, acked) => this.notify(deviceId, acked));
  }

  private async notify(ackedByDeviceId: string, acked: AckedMessage[]): Promise<void> {
    const senders = [...new Set(acked.map((message) => message.senderAccountId))];
    const devices = await this.identity.currentDevicesOf(senders);
    await Promise.all(
      acked.map((message) => {
        const deviceIds = devices
          .filter(
            (device) =>
              device.accountId === message.senderAccountId && device.id !== ackedByDeviceId,
          )
          .map((device) => device.id);
        return this.routing.routeReceipt(message.messageId, ackedByDeviceId, deviceIds);
      }),
    ).catch((error: Error) => this.logger.warn(`receipts not routed: ${describeError(error)}`));
  }
}
