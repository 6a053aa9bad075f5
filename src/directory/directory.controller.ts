import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiProblems,
  ApiUuidParam,
  DEVICE_AUTH_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import { schemaRef } from '../api-docs/openapi-schemas.js';
import { Problem } from '../common/problem.js';
import { RateLimitGuard, RateLimitPerAccount } from '../rate-limit/rate-limit.guard.js';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { HANDLE_PATTERN } from '../identity/dto/identity.dto.js';
import { DirectoryService } from './directory.service.js';

@Controller('v1')
// RateLimitGuard after AuthGuard: look-ups count per account (one counter for
// both routes), so walking the handle space is slow whichever route is used.
@UseGuards(AuthGuard, RateLimitGuard)
@ApiTags('directory')
@ApiDeviceAuth()
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @ApiOperation({
    operationId: 'lookUpHandle',
    summary: 'An account and its current devices by handle',
  })
  @ApiParam({ name: 'handle', schema: { type: 'string' } })
  @ApiAnswer(200, schemaRef('DirectoryEntry'))
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    404: 'account_not_found',
    429: 'rate_limited (per account, Retry-After)',
  })
  @Get('directory/:handle')
  @RateLimitPerAccount('directory', 'RATE_LIMIT_DIRECTORY')
  async byHandle(@Caller() caller: AuthenticatedDevice, @Param('handle') handle: string) {
    if (!HANDLE_PATTERN.test(handle))
      throw Problem.notFound('account_not_found', 'No account with that handle');
    return this.directory.lookupHandle(caller.accountId, handle);
  }

  @ApiOperation({ operationId: 'accountDevices', summary: 'An account’s current devices' })
  @ApiUuidParam('accountId')
  @ApiAnswer(200, schemaRef('DirectoryEntry'))
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    404: 'account_not_found',
    429: 'rate_limited (per account, Retry-After)',
  })
  @Get('accounts/:accountId/devices')
  @RateLimitPerAccount('directory', 'RATE_LIMIT_DIRECTORY')
  async devicesOf(@Caller() caller: AuthenticatedDevice, @Param('accountId') accountId: string) {
    return this.directory.lookupAccount(caller.accountId, parseUuidParam('accountId', accountId));
  }
}
