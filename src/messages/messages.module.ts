import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessageEvents } from './message-events.js';
import { MessagesController } from './messages.controller.js';
import { MessagesRepository } from './messages.repository.js';
import { MessagesService } from './messages.service.js';
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
    MessagesService,
    MessageEvents,
    NoticeNumbers,
    SendCoverage,
    DeviceQueues,
    EphemeralSendService,
    DayKeys,
  ],
  exports: [MessagesService, MessageEvents, NoticeNumbers, EphemeralSendService, DayKeys],
})
export class MessagesModule {}
