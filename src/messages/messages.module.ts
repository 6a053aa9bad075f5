import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessageEvents } from './message-events.js';
import { MessagesController } from './messages.controller.js';
import { MessagesRepository } from './messages.repository.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { MessagePurgeRepository } from './message-purge.repository.js';
import { ExpiryRecordsRepository } from './expiry-records.repository.js';
import { SendMessageService } from './send-message.service.js';
import { InboxService } from './inbox.service.js';
import { MessageStatusService } from './message-status.service.js';
import { FanoutTrackingService } from './fanout-tracking.service.js';
import { DeviceDepartures } from './device-departures.js';
import { NoticeNumbers } from './notice-numbers.js';
import { EphemeralSendService } from './ephemeral-send.service.js';
import { SendCoverage } from './send-coverage.js';
import { DeviceQueues } from './device-queues.js';
import { DayKeys } from './at-rest/day-keys.service.js';

@Module({
  imports: [IdentityModule, ConversationsModule],
  controllers: [MessagesController],
  providers: [
    MessagesRepository,
    DeliveriesRepository,
    MessagePurgeRepository,
    ExpiryRecordsRepository,
    SendMessageService,
    InboxService,
    MessageStatusService,
    FanoutTrackingService,
    DeviceDepartures,
    MessageEvents,
    NoticeNumbers,
    SendCoverage,
    DeviceQueues,
    EphemeralSendService,
    DayKeys,
  ],
  exports: [
    InboxService,
    MessageStatusService,
    FanoutTrackingService,
    // For retention, which runs the purge, and the legal-hold export.
    MessagePurgeRepository,
    ExpiryRecordsRepository,
    DeviceQueues,
    MessageEvents,
    NoticeNumbers,
    EphemeralSendService,
    DayKeys,
  ],
})
export class MessagesModule {}
