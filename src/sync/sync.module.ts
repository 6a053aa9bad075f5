import { Module } from '@nestjs/common';
import { DirectoryModule } from '../directory/directory.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { PushModule } from '../push/push.module.js';
import { InboxController } from './inbox.controller.js';
import { LiveModule } from './live.module.js';
import { ReceiptsNotifier } from './receipts.notifier.js';
import { StreamGateway } from './stream.gateway.js';

/** The API side of sync: HTTP inbox, the WebSocket stream, receipts. */
@Module({
  imports: [IdentityModule, MessagesModule, DirectoryModule, LiveModule, PushModule],
  controllers: [InboxController],
  providers: [StreamGateway, ReceiptsNotifier],
  exports: [StreamGateway],
})
export class SyncModule {}
