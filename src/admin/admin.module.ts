import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { AdminCredentials } from './admin-credentials.js';
import { AdminController } from './admin.controller.js';
import { AdminGuard } from './admin.guard.js';
import { LegalHoldsService } from './legal-holds.service.js';
import { TransparencyController } from './transparency.controller.js';

/** The admin API (legal holds, the logs) and the public transparency counts. */
@Module({
  imports: [AuditModule, IdentityModule, MessagesModule],
  controllers: [AdminController, TransparencyController],
  providers: [AdminCredentials, AdminGuard, LegalHoldsService],
  exports: [AdminCredentials],
})
export class AdminModule {}
