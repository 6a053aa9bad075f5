import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard } from '../identity/auth.guard.js';
import { HANDLE_PATTERN } from '../identity/dto/identity.dto.js';
import { DirectoryService } from './directory.service.js';

@Controller('v1')
@UseGuards(AuthGuard)
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Get('directory/:handle')
  async byHandle(@Param('handle') handle: string) {
    if (!HANDLE_PATTERN.test(handle))
      throw Problem.notFound('account_not_found', 'No account with that handle');
    return this.directory.lookupHandle(handle);
  }

  @Get('accounts/:accountId/devices')
  async devicesOf(@Param('accountId') accountId: string) {
    return this.directory.lookupAccount(parseUuidParam('accountId', accountId));
  }
}
