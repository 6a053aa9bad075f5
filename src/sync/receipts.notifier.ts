import { describeError } from '../common/describe-error.js';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Batcher } from '../common/batcher.js';
import { IdentityService } from '../identity/identity.service.js';
import { MessageEvents } from '../messages/message-events.js';
import type { AckedMessage } from '../messages/messages.types.js';
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

  // The acks of one event-loop turn (from any devices) share one device
  // look-up, one presence look-up and one event per process.
  private readonly acks = new Batcher(
    async (batch: Ack[]) => {
      await this.notify(batch);
      return batch;
    },
    { keyOf: (ack) => ack },
  );

  onModuleInit(): void {
    this.events.onAcked(async (ackedByDeviceId, acked) => {
      await this.acks.load({ ackedByDeviceId, acked });
    });
  }

  private async notify(batch: Ack[]): Promise<void> {
    const senders = [
      ...new Set(batch.flatMap(({ acked }) => acked.map((message) => message.senderAccountId))),
    ];
    const devicesOf = new Map<string, string[]>();
    for (const device of await this.identity.currentDeviceIdsOf(senders)) {
      const devices = devicesOf.get(device.accountId);
      if (devices) devices.push(device.id);
      else devicesOf.set(device.accountId, [device.id]);
    }
    const receipts = batch.flatMap(({ ackedByDeviceId, acked }) =>
      acked.map((message) => ({
        messageId: message.messageId,
        ackedByDeviceId,
        deviceIds: (devicesOf.get(message.senderAccountId) ?? []).filter(
          (deviceId) => deviceId !== ackedByDeviceId,
        ),
      })),
    );
    await this.routing
      .routeReceipts(receipts)
      .catch((error: Error) =>
        this.logger.warn({ error: describeError(error) }, 'receipts not routed'),
      );
  }
}

interface Ack {
  ackedByDeviceId: string;
  acked: AckedMessage[];
}
