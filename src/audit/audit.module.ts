import { Module } from '@nestjs/common';
import { AuditLog } from './audit-log.service.js';
import { ChainedLog } from './chained-log.js';
import { PurgeLog } from './purge-log.service.js';

/** The hash-chained, append-only logs: admin actions and purge runs. */
@Module({ providers: [ChainedLog, AuditLog, PurgeLog], exports: [AuditLog, PurgeLog, ChainedLog] })
export class AuditModule {}
