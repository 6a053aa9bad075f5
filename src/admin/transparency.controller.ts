import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer } from '../api-docs/openapi-decorators.js';
import { TRANSPARENCY_REPORT } from '../api-docs/openapi-schemas.js';
import { AuditLog } from '../audit/audit-log.service.js';

/**
 * GET /v1/transparency, public: per month, how many legal holds were placed
 * and released and how many exports made. Counts only, no identities.
 */
@Controller('v1')
@ApiTags('transparency')
export class TransparencyController {
  constructor(private readonly audit: AuditLog) {}

  @ApiOperation({
    operationId: 'transparencyReport',
    summary:
      'Per calendar month (UTC): legal holds placed and released, exports made. Counts only, no identities',
  })
  @ApiAnswer(200, TRANSPARENCY_REPORT)
  @Get('transparency')
  async transparency() {
    return { periods: await this.audit.transparency() };
  }
}
