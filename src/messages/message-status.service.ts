import { Injectable } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { MessagesRepository } from './messages.repository.js';
import type { ExpiredUnread } from './messages.types.js';

/** What a sender learns of its messages: the status it asks for, and the `expired` notices owed. */
@Injectable()
export class MessageStatusService {
  constructor(private readonly repository: MessagesRepository) {}

  async status(callerAccountId: string, messageId: string) {
    const status = await this.repository.status(messageId);
    if (!status || status.senderAccountId !== callerAccountId) {
      throw Problem.notFound('message_not_found', 'No such message sent by this account');
    }
    return {
      devices: status.deviceCount,
      delivered: status.delivered.length,
      pending: status.expired ? 0 : status.pending.length,
      deliveredDevices: status.delivered,
      pendingDevices: status.expired ? [] : status.pending,
      undelivered: status.undelivered,
      ...(status.expired ? { expired: status.pending } : {}),
    };
  }

  /** Expired-unread messages whose `expired` frames are owed, marked as sent. */
  takeExpiredToNotify(limit: number): Promise<ExpiredUnread[]> {
    return this.repository.takeExpiredToNotify(limit);
  }
}
