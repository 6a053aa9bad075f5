import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module.js';
import { CallsController } from './calls.controller.js';
import { TurnCredentialsService } from './turn-credentials.service.js';

/**
 * What calls need of the server besides messages (docs/calls.md): TURN
 * credentials. Call signalling itself travels as urgent and ephemeral sends.
 */
@Module({
  imports: [IdentityModule],
  controllers: [CallsController],
  providers: [TurnCredentialsService],
})
export class CallsModule {}
