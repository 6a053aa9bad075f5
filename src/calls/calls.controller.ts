import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiProblems,
  DEVICE_AUTH_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import { TURN_CREDENTIALS } from '../api-docs/openapi-schemas.js';
import { RateLimitGuard, RateLimitPerAccount } from '../rate-limit/rate-limit.guard.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { TurnCredentialsService } from './turn-credentials.service.js';

@Controller('v1/calls')
@UseGuards(AuthGuard, RateLimitGuard)
@ApiTags('calls')
@ApiDeviceAuth()
export class CallsController {
  constructor(private readonly turn: TurnCredentialsService) {}

  /** Credentials for the TURN servers, for one device, valid TURN_CREDENTIAL_TTL_SECONDS. */
  @ApiOperation({
    operationId: 'turnCredentials',
    summary:
      'TURN credentials for this device (TURN REST convention: username "<unix expiry>:<deviceId>", credential base64(HMAC-SHA1(secret, username)))',
  })
  @ApiAnswer(200, TURN_CREDENTIALS)
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    429: 'rate_limited (per account, Retry-After)',
    503: 'turn_unavailable: no TURN server is configured',
  })
  @Get('turn')
  @RateLimitPerAccount('turn-credentials', 'RATE_LIMIT_TURN_CREDENTIALS')
  turnCredentials(@Caller() caller: AuthenticatedDevice) {
    return this.turn.issue(caller.deviceId);
  }
}
