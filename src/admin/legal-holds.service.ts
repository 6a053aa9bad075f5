import { Inject, Injectable } from '@nestjs/common';
import { eq } from 'drizzle-orm';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { AuditLog } from '../audit/audit-log.service.js';
import { Problem } from '../common/problem.js';
import { DRIZZLE, type Database, PG_POOL } from '../db/db.module.js';
import {
  deliveries,
  devices,
  heldMessages,
  legalHolds,
  messageBodies,
  messageClientIds,
  messages,
} from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { statementText } from '../db/statements.js';
import { IdentityService } from '../identity/identity.service.js';
import { DayKeys } from '../messages/at-rest/day-keys.service.js';
import { open } from '../messages/at-rest/sealing.js';
import { MessagePurgeRepository } from '../messages/message-purge.repository.js';

const EXPORT_PAGE = 500;

/** One line of an export: a message as it was stored for one recipient device. */
interface ExportRow {
  source: 'pending' | 'held';
  messageId: string;
  senderAccountId: string;
  senderDeviceId: string;
  recipientDeviceId: string;
  conversationId: string | null;
  body: Buffer;
  wrappedKey: Buffer;
  /** The day whose key seals body and wrapped key at rest (null: stored before sealing). */
  keyDay: string | null;
  acceptedAt: Date;
  expiresAt: Date;
}

const DEVICE = sqlNames(devices);
const D = sqlNames(deliveries);
const M = sqlNames(messages);
const B = sqlNames(messageBodies);
const CLAIM = sqlNames(messageClientIds);
const HELD = sqlNames(heldMessages);

// What is held of an account: messages pending for its devices, and messages
// it sent still pending for others (found through its devices' idempotency
// claims, which index them by sender device), unexpired; and the copies the
// purge took of those that expired under the hold. Read through a cursor.
const DECLARE_EXPORT = statementText(
  'legal-hold-export',
  `DECLARE held_export NO SCROLL CURSOR FOR
  SELECT 'pending' AS source, m.${M.id} AS "messageId", m.${M.senderAccountId} AS "senderAccountId",
         m.${M.senderDeviceId} AS "senderDeviceId", d.${D.deviceId} AS "recipientDeviceId",
         m.${M.conversationId} AS "conversationId", b.${B.body} AS body, d.${D.wrappedKey} AS "wrappedKey",
         d.${D.keyDay}::text AS "keyDay", m.${M.acceptedAt} AS "acceptedAt", m.${M.expiresAt} AS "expiresAt"
    FROM ${DEVICE.$table} dv
    JOIN ${D.$table} d ON d.${D.deviceId} = dv.${DEVICE.id} AND d.${D.expiresAt} > now()
    JOIN ${M.$table} m ON m.${M.id} = d.${D.messageId} AND m.${M.expiresAt} = d.${D.expiresAt}
    JOIN ${B.$table} b ON b.${B.messageId} = m.${M.id} AND b.${B.expiresAt} = m.${M.expiresAt}
   WHERE dv.${DEVICE.accountId} = $1
  UNION
  SELECT 'pending', m.${M.id}, m.${M.senderAccountId}, m.${M.senderDeviceId}, d.${D.deviceId}, m.${M.conversationId},
         b.${B.body}, d.${D.wrappedKey}, d.${D.keyDay}::text, m.${M.acceptedAt}, m.${M.expiresAt}
    FROM ${DEVICE.$table} dv
    JOIN ${CLAIM.$table} c ON c.${CLAIM.senderDeviceId} = dv.${DEVICE.id} AND c.${CLAIM.expiresAt} > now()
    JOIN ${M.$table} m ON m.${M.id} = c.${CLAIM.messageId} AND m.${M.expiresAt} = c.${CLAIM.expiresAt}
    JOIN ${D.$table} d ON d.${D.messageId} = m.${M.id} AND d.${D.expiresAt} = m.${M.expiresAt}
    JOIN ${B.$table} b ON b.${B.messageId} = m.${M.id} AND b.${B.expiresAt} = m.${M.expiresAt}
   WHERE dv.${DEVICE.accountId} = $1
  UNION
  SELECT 'held', ${HELD.messageId}, ${HELD.senderAccountId}, ${HELD.senderDeviceId}, ${HELD.deviceId}, ${HELD.conversationId},
         ${HELD.body}, ${HELD.wrappedKey}, ${HELD.keyDay}::text, ${HELD.acceptedAt}, ${HELD.expiresAt}
    FROM ${HELD.$table} WHERE ${HELD.heldAccountId} = $1
  ORDER BY "acceptedAt", "messageId", "recipientDeviceId"`,
);

/**
 * Legal holds (docs/retention.md): limited to what Supernode stores for a
 * while, ciphertext it cannot read. A hold keeps an account's pending
 * messages past their expiry (copies taken before the purge) until it is
 * released; an export streams what is held as NDJSON. Every call is on the
 * audit log.
 */
@Injectable()
export class LegalHoldsService {
  constructor(
    @Inject(DRIZZLE) private readonly db: Database,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    private readonly identity: IdentityService,
    private readonly purge: MessagePurgeRepository,
    private readonly dayKeys: DayKeys,
    private readonly audit: AuditLog,
  ) {}

  async place(actor: string, accountId: string, reference: string): Promise<{ placedAt: Date }> {
    if ((await this.identity.existingAccountIds([accountId])).length === 0)
      throw Problem.notFound('account_not_found', 'No such account');
    const [row] = await this.db
      .insert(legalHolds)
      .values({ accountId, placedBy: actor, reference })
      .onConflictDoUpdate({ target: legalHolds.accountId, set: { reference } })
      .returning({ placedAt: legalHolds.placedAt });
    await this.audit.record(actor, 'hold_placed', accountId, { reference });
    return row;
  }

  /** Ends the hold: the copies it kept are deleted (what is still pending stays until acked or expired). */
  async release(actor: string, accountId: string): Promise<{ copiesDeleted: number }> {
    const copiesDeleted = await this.db.transaction(async (tx) => {
      const released = await tx
        .delete(legalHolds)
        .where(eq(legalHolds.accountId, accountId))
        .returning({ accountId: legalHolds.accountId });
      if (released.length === 0)
        throw Problem.notFound('hold_not_found', 'No hold on this account');
      const deleted = await tx
        .delete(heldMessages)
        .where(eq(heldMessages.heldAccountId, accountId))
        .returning({ messageId: heldMessages.messageId });
      return deleted.length;
    });
    await this.audit.record(actor, 'hold_released', accountId, { copiesDeleted });
    return { copiesDeleted };
  }

  async list(actor: string) {
    const holds = await this.db
      .select({
        accountId: legalHolds.accountId,
        placedAt: legalHolds.placedAt,
        placedBy: legalHolds.placedBy,
        reference: legalHolds.reference,
      })
      .from(legalHolds)
      .orderBy(legalHolds.placedAt);
    await this.audit.record(actor, 'holds_listed', null, { holds: holds.length });
    return { holds };
  }

  /**
   * What is held of the account, one JSON object per line, read through a
   * cursor (never all in memory). Checked and recorded on the audit log
   * before the first line goes out.
   */
  async export(actor: string, accountId: string): Promise<Readable> {
    const [hold] = await this.db
      .select({ accountId: legalHolds.accountId })
      .from(legalHolds)
      .where(eq(legalHolds.accountId, accountId));
    if (!hold) throw Problem.notFound('hold_not_found', 'Only a held account can be exported');
    // What expired since the last purge is copied now, so the export has it.
    await this.purge.copyHeldBeforePurge();
    await this.audit.record(actor, 'held_export', accountId, {});
    return Readable.from(this.lines(accountId));
  }

  private async *lines(accountId: string): AsyncGenerator<string> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query({ text: DECLARE_EXPORT, values: [accountId] });
      for (;;) {
        const page = await client.query<ExportRow>(`FETCH ${EXPORT_PAGE} FROM held_export`);
        // Opened from their sealing at rest: the export carries what the client sent.
        const keys = await this.dayKeys.forOpening(
          page.rows.flatMap((row) => (row.keyDay === null ? [] : [row.keyDay])),
        );
        for (const row of page.rows) {
          const key = row.keyDay === null ? undefined : keys.get(row.keyDay);
          const opened = key
            ? { ...row, body: open(row.body, key), wrappedKey: open(row.wrappedKey, key) }
            : row;
          yield `${JSON.stringify(exportLine(opened))}\n`;
        }
        if (page.rows.length < EXPORT_PAGE) break;
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

function exportLine(row: ExportRow) {
  return {
    source: row.source,
    messageId: row.messageId,
    senderAccountId: row.senderAccountId,
    senderDeviceId: row.senderDeviceId,
    recipientDeviceId: row.recipientDeviceId,
    conversationId: row.conversationId,
    body: row.body.toString('base64'),
    wrappedKey: row.wrappedKey.toString('base64'),
    acceptedAt: row.acceptedAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}
