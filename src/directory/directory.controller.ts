import { Controller, Get, Param, UseGuards } from '@nestjs/common';
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
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Get('directory/:handle')
  @RateLimitPerAccount('directory', 'RATE_LIMIT_DIRECTORY')
  async byHandle(@Caller() caller: AuthenticatedDevice, @Param('handle') handle: string) {
    if (!HANDLE_PATTERN.test(handle))
      throw Problem.notFound('account_not_found', 'No account with that handle');
    return this.directory.lookupHandle(caller.accountId, handle);
  }

  @Get('accounts/:accountId/devices')
  @RateLimitPerAccount('directory', 'RATE_LIMIT_DIRECTORY')
  async devicesOf(@Caller() caller: AuthenticatedDevice, @Param('accountId') accountId: string) {
    return this.directory.lookupAccount(caller.accountId, parseUuidParam('accountId', accountId));
  }
}
