import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { InboxController } from './inbox.controller.js';

@Module({
  imports: [IdentityModule, MessagesModule],
  controllers: [InboxController],
})
export class SyncModule {}
