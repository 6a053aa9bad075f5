import { Controller, Get, UseGuards } from '@nestjs/common';
import { RateLimitGuard, RateLimitPerAccount } from '../rate-limit/rate-limit.guard.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { TurnCredentialsService } from './turn-credentials.service.js';

@Controller('v1/calls')
@UseGuards(AuthGuard, RateLimitGuard)
export class CallsController {
  constructor(private readonly turn: TurnCredentialsService) {}

  /** Credentials for the TURN servers, for one device, valid TURN_CREDENTIAL_TTL_SECONDS. */
  @Get('turn')
  @RateLimitPerAccount('turn-credentials', 'RATE_LIMIT_TURN_CREDENTIALS')
  turnCredentials(@Caller() caller: AuthenticatedDevice) {
    return this.turn.issue(caller.deviceId);
  }
}
