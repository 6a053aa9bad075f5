import { Injectable } from '@nestjs/common';
import { ChainedLog } from './chained-log.js';

/** What the admin API did, who did it (the credential), about whom. */
export type AuditAction =
  | 'credential_refused'
  | 'hold_placed'
  | 'hold_released'
  | 'holds_listed'
  | 'held_export'
  | 'purge_log_read'
  | 'audit_log_read';

/** The tamper-evident record of every admin action (docs/retention.md). */
@Injectable()
export class AuditLog {
  constructor(private readonly log: ChainedLog) {}

  async record(
    actor: string,
    action: AuditAction,
    subject: string | null,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.log.append('audit_log', { actor, action, subject, details });
  }

  read(afterSeq: number, limit: number) {
    return this.log.read('audit_log', afterSeq, limit);
  }

  /** Per calendar month (UTC): holds placed and released, exports made. No identities. */
  transparency() {
    return this.log.countsByMonth('audit_log', {
      holdsPlaced: 'hold_placed',
      holdsReleased: 'hold_released',
      exports: 'held_export',
    });
  }
}
