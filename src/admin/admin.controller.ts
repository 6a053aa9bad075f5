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
export class AdminController {
  constructor(
    private readonly holds: LegalHoldsService,
    private readonly purgeLog: PurgeLog,
    private readonly audit: AuditLog,
  ) {}

  @Get('purge-log')
  readPurgeLog(@AdminCaller() actor: string, @Query() page: LogPageDto) {
    return this.readLog(actor, page, 'purge_log_read', this.purgeLog);
  }

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

  @Get('holds')
  listHolds(@AdminCaller() actor: string) {
    return this.holds.list(actor);
  }

  @Put('holds/:accountId')
  placeHold(
    @AdminCaller() actor: string,
    @Param('accountId') accountId: string,
    @Body() body: PlaceHoldDto,
  ) {
    return this.holds.place(actor, parseUuidParam('accountId', accountId), body.reference);
  }

  @Delete('holds/:accountId')
  releaseHold(@AdminCaller() actor: string, @Param('accountId') accountId: string) {
    return this.holds.release(actor, parseUuidParam('accountId', accountId));
  }

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
