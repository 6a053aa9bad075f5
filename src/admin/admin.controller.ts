import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Param,
  Put,
  Query,
  StreamableFile,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ADMIN_AUTH_PROBLEMS,
  ApiAdminAuth,
  ApiAnswer,
  ApiJsonBody,
  ApiProblems,
  ApiQueryOf,
  ApiTextAnswer,
  ApiUuidParam,
  INPUT_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import {
  HOLD_PLACED,
  HOLD_RELEASED,
  LEGAL_HOLDS,
  LOG_ENTRIES,
} from '../api-docs/openapi-schemas.js';
import { AuditLog } from '../audit/audit-log.service.js';
import type { ChainedRow } from '../audit/hash-chain.js';
import { PurgeLog } from '../audit/purge-log.service.js';
import { parseUuidParam } from '../common/validation.js';
import { AdminCaller, AdminGuard } from './admin.guard.js';
import { LogPageDto, PlaceHoldDto } from './dto/admin.dto.js';
import { LegalHoldsService } from './legal-holds.service.js';

/** The admin API (docs/retention.md): admin credentials only, every call on the audit log. */
@Controller('v1/admin')
@UseGuards(AdminGuard)
@ApiTags('admin')
@ApiAdminAuth()
export class AdminController {
  constructor(
    private readonly holds: LegalHoldsService,
    private readonly purgeLog: PurgeLog,
    private readonly audit: AuditLog,
  ) {}

  @ApiOperation({
    operationId: 'readPurgeLog',
    summary:
      'The purge log: what each purge run removed (partitions, messages, bytes, oldest expiry left), hash-chained',
  })
  @ApiQueryOf(LogPageDto)
  @ApiAnswer(200, LOG_ENTRIES)
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, ...INPUT_PROBLEMS })
  @Get('purge-log')
  readPurgeLog(@AdminCaller() actor: string, @Query() page: LogPageDto) {
    return this.readLog(actor, page, 'purge_log_read', this.purgeLog);
  }

  @ApiOperation({
    operationId: 'readAuditLog',
    summary: 'The audit log of admin actions, hash-chained (npm run audit:verify checks it)',
  })
  @ApiQueryOf(LogPageDto)
  @ApiAnswer(200, LOG_ENTRIES)
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, ...INPUT_PROBLEMS })
  @Get('audit-log')
  readAuditLog(@AdminCaller() actor: string, @Query() page: LogPageDto) {
    return this.readLog(actor, page, 'audit_log_read', this.audit);
  }

  /** A page of a log, the read itself recorded on the audit log. */
  private async readLog(
    actor: string,
    page: LogPageDto,
    action: 'purge_log_read' | 'audit_log_read',
    log: { read(afterSeq: number, limit: number): Promise<ChainedRow[]> },
  ) {
    const entries = await log.read(page.after, page.limit);
    await this.audit.record(actor, action, null, { after: page.after, rows: entries.length });
    return { entries: entries.map(entryView) };
  }

  @ApiOperation({ operationId: 'listLegalHolds', summary: 'The accounts under a legal hold' })
  @ApiAnswer(200, LEGAL_HOLDS)
  @ApiProblems(ADMIN_AUTH_PROBLEMS)
  @Get('holds')
  listHolds(@AdminCaller() actor: string) {
    return this.holds.list(actor);
  }

  @ApiOperation({
    operationId: 'placeLegalHold',
    summary:
      'Place (or re-reference) a legal hold: the account’s pending messages, to and from it, are kept past expiry until release',
  })
  @ApiUuidParam('accountId')
  @ApiJsonBody(PlaceHoldDto)
  @ApiAnswer(200, HOLD_PLACED)
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, ...INPUT_PROBLEMS, 404: 'account_not_found' })
  @Put('holds/:accountId')
  placeHold(
    @AdminCaller() actor: string,
    @Param('accountId') accountId: string,
    @Body() body: PlaceHoldDto,
  ) {
    return this.holds.place(actor, parseUuidParam('accountId', accountId), body.reference);
  }

  @ApiOperation({
    operationId: 'releaseLegalHold',
    summary: 'Release a hold: the copies it kept past expiry are deleted',
  })
  @ApiUuidParam('accountId')
  @ApiAnswer(200, HOLD_RELEASED)
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, 404: 'hold_not_found' })
  @Delete('holds/:accountId')
  releaseHold(@AdminCaller() actor: string, @Param('accountId') accountId: string) {
    return this.holds.release(actor, parseUuidParam('accountId', accountId));
  }

  @ApiOperation({
    operationId: 'exportLegalHold',
    summary:
      'What is held of the account, streamed as NDJSON: one line per message and recipient device (source pending|held, ids, base64 ciphertext and wrapped key, times)',
  })
  @ApiUuidParam('accountId')
  @ApiTextAnswer('application/x-ndjson', 'NDJSON')
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, 404: 'hold_not_found' })
  @Get('holds/:accountId/export')
  @Header('Content-Type', 'application/x-ndjson')
  async exportHold(@AdminCaller() actor: string, @Param('accountId') accountId: string) {
    return new StreamableFile(
      await this.holds.export(actor, parseUuidParam('accountId', accountId)),
      { type: 'application/x-ndjson' },
    );
  }
}

function entryView(row: ChainedRow) {
  return {
    seq: row.seq,
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details: row.details,
    prevHash: row.prevHash.toString('hex'),
    hash: row.hash.toString('hex'),
  };
}
