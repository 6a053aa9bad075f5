import { Injectable } from '@nestjs/common';
import { DeliveriesRepository } from './deliveries.repository.js';
import { MessagesRepository } from './messages.repository.js';

/**
 * What the fan-out reads and records: the devices a message is still pending
 * for, and which messages were fanned out (those never marked are the
 * reconciler's to fan out again).
 */
@Injectable()
export class FanoutTrackingService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  /** Devices that still have this message pending. */
  pendingDeviceIds(messageId: string): Promise<string[]> {
    return this.deliveries.pendingDeviceIds(messageId);
  }

  markFannedOut(messageIds: string[]): Promise<void> {
    return this.messages.markFannedOut(messageIds);
  }

  /** Unexpired messages accepted over `graceSeconds` ago whose fan-out never finished. */
  notFannedOut(graceSeconds: number, limit: number): Promise<string[]> {
    return this.messages.notFannedOut(graceSeconds, limit);
  }
}
