import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { LiveModule } from '../sync/live.module.js';
import { PurgeProcessor } from './purge.processor.js';
import { PurgeService } from './purge.service.js';
import { ExpiryRecorder } from './expiry-recorder.service.js';

/** Processors are only provided where ROLE runs workers (see AppModule). */
@Module({
  imports: [IdentityModule, MessagesModule, AuditModule, LiveModule],
  providers: [ExpiryRecorder, PurgeService, PurgeProcessor],
  exports: [PurgeProcessor],
})
export class RetentionModule {}
