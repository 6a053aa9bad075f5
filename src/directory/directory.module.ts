import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { DirectoryController } from './directory.controller.js';
import { DirectoryService } from './directory.service.js';
import { PresenceService } from './presence.service.js';

@Module({
  imports: [IdentityModule, ConversationsModule],
  controllers: [DirectoryController],
  providers: [DirectoryService, PresenceService],
  exports: [DirectoryService, PresenceService],
})
export class DirectoryModule {}
