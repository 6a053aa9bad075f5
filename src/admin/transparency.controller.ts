import { Controller, Get } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.service.js';

/**
 * GET /v1/transparency, public: per month, how many legal holds were placed
 * and released and how many exports made. Counts only, no identities.
 */
@Controller('v1')
export class TransparencyController {
  constructor(private readonly audit: AuditLog) {}

  @Get('transparency')
  async transparency() {
    return { periods: await this.audit.transparency() };
  }
}
