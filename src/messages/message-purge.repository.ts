import { Inject, Injectable } from '@nestjs/common';
import pg from 'pg';
import { CLIENT_TIMEOUT_MARGIN_MS, PG_POOL } from '../db/db.module.js';
import { ensureExpiryPartitions } from '../db/expiry-partitions.js';
import {
  deliveries,
  devices,
  expiredMessages,
  expiryProgress,
  fanoutPending,
  heldMessages,
  legalHolds,
  messageBodies,
  messageClientIds,
  messageReceipts,
  messages,
  messageUndelivered,
} from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { preparedStatement, statementText } from '../db/statements.js';
import type { DroppedPartition } from './messages.types.js';

// The sender's status answers this long after its message expired (PROTOCOL.md: at least 7 days).
export const STATUS_KEPT_AFTER_EXPIRY_SECONDS = 7 * 24 * 3600;

// PostgreSQL's lock_not_available, raised when lock_timeout runs out.
const LOCK_NOT_AVAILABLE = '55P03';

// The purge's DDL runs past the pool's statement timeout when it must: the
// DROP of a large day's partition unlinks its files for as long as that
// takes, and its lock waits are bounded by lock_timeout instead. The batched
// deletes stay under the pool's timeout (a batch is sized to be quick).
const MAINTENANCE_STATEMENT_TIMEOUT_MS = 10 * 60_000;

// pg honours a query's own query_timeout (its types do not declare it): the
// pool's would give up on the client side long before PostgreSQL does.
const maintenance = (text: string): pg.QueryConfig & { query_timeout: number } => ({
  text,
  query_timeout: MAINTENANCE_STATEMENT_TIMEOUT_MS + CLIENT_TIMEOUT_MARGIN_MS,
});

const M = sqlNames(messages);
const B = sqlNames(messageBodies);
const D = sqlNames(deliveries);
const R = sqlNames(messageReceipts);
const CLAIM = sqlNames(messageClientIds);
const FANOUT = sqlNames(fanoutPending);
const E = sqlNames(expiredMessages);
const U = sqlNames(messageUndelivered);
const HELD = sqlNames(heldMessages);
const HOLD = sqlNames(legalHolds);
const DEVICE = sqlNames(devices);
const P = sqlNames(expiryProgress);

// At most $1 rows of `table` where `condition` holds (it may end with an
// ORDER BY), skipping rows that another purge run holds.
const deleteBatch = (table: string, condition: string) => `
  DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM ${table} WHERE ${condition} LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING 1`;

// A record kept for the sender's status (expired_messages, message_undelivered) that is past its time.
const statusRecordExpired = (expiresAt: string) =>
  `${expiresAt} <= now() - make_interval(secs => ${STATUS_KEPT_AFTER_EXPIRY_SECONDS})`;

// Where the expiry record got (ExpiryRecordsRepository): the purge removes
// only what is behind it, so nothing goes before it is recorded.
const RECORDED_UNTIL = `(SELECT ${P.recordedUntil} FROM ${P.$table})`;
const RECORDED_UNTIL_KEY = `(SELECT ${P.recordedUntil}, ${P.recordedUntilId} FROM ${P.$table})`;

// The partitions the purge may drop: the day each holds is over and recorded
// (a function of migration 0004's).
const ENDED_PARTITIONS = statementText(
  'purge-ended-partitions',
  `SELECT partition_name AS name, parent_name AS parent, attached FROM expiry_partitions_ended_by(${RECORDED_UNTIL})`,
);

// Partitions are named after their parent (migration 0004): messages_pYYYYMMDD.
const MESSAGES_PARTITION_PREFIX = `${M.$table}_p`;
const isMessagesPartition = (name: string): boolean => name.startsWith(MESSAGES_PARTITION_PREFIX);

// What a held account received (its devices' deliveries) and sent (its
// messages' deliveries), copied before the purge takes it. Deliveries are
// placed by device and messages by message (src/db/distribution.ts): each
// is read in a CTE of its own, whose rows a distributed PostgreSQL passes
// on, so no join crosses the two groups.
const COPY_HELD = statementText(
  'purge-copy-held',
  `
  WITH held AS (SELECT ${HOLD.accountId} FROM ${HOLD.$table}),
  cutoff AS (SELECT now() + interval '1 minute' AS at),
  received AS MATERIALIZED (
    SELECT h.${HOLD.accountId} AS held_account_id, d.${D.deviceId}, d.${D.messageId}, d.${D.expiresAt},
           d.${D.wrappedKey}, d.${D.keyDay}
      FROM held h
      JOIN ${DEVICE.$table} dv ON dv.${DEVICE.accountId} = h.${HOLD.accountId}
      JOIN ${D.$table} d ON d.${D.deviceId} = dv.${DEVICE.id} AND d.${D.expiresAt} <= (SELECT at FROM cutoff)
  ),
  sent AS MATERIALIZED (
    SELECT h.${HOLD.accountId} AS held_account_id, m.${M.id}, m.${M.expiresAt}
      FROM held h
      JOIN ${M.$table} m ON m.${M.senderAccountId} = h.${HOLD.accountId} AND m.${M.expiresAt} <= (SELECT at FROM cutoff)
  ),
  sent_deliveries AS MATERIALIZED (
    SELECT s.held_account_id, d.${D.deviceId}, d.${D.messageId}, d.${D.expiresAt}, d.${D.wrappedKey}, d.${D.keyDay}
      FROM sent s JOIN ${D.$table} d ON d.${D.messageId} = s.${M.id} AND d.${D.expiresAt} = s.${M.expiresAt}
  ),
  copies AS (
    INSERT INTO ${HELD.$table} (${HELD.heldAccountId}, ${HELD.messageId}, ${HELD.deviceId}, ${HELD.senderAccountId},
           ${HELD.senderDeviceId}, ${HELD.conversationId}, ${HELD.body}, ${HELD.wrappedKey}, ${HELD.keyDay}, ${HELD.acceptedAt}, ${HELD.expiresAt})
    SELECT c.held_account_id, m.${M.id}, c.${D.deviceId},
           m.${M.senderAccountId}, m.${M.senderDeviceId}, m.${M.conversationId}, b.${B.body}, c.${D.wrappedKey},
           c.${D.keyDay}, m.${M.acceptedAt}, m.${M.expiresAt}
      FROM (SELECT * FROM received UNION ALL SELECT * FROM sent_deliveries) c
      JOIN ${M.$table} m ON m.${M.id} = c.${D.messageId} AND m.${M.expiresAt} = c.${D.expiresAt}
      JOIN ${B.$table} b ON b.${B.messageId} = m.${M.id} AND b.${B.expiresAt} = m.${M.expiresAt}
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int AS count FROM copies`,
);

const ANY_HOLD = statementText(
  'purge-any-hold',
  `SELECT EXISTS (SELECT FROM ${HOLD.$table}) AS held`,
);

const OLDEST_EXPIRY = statementText(
  'purge-oldest-expiry',
  `SELECT min(${M.expiresAt}) AS oldest, coalesce(min(${M.expiresAt}) <= now(), false) AS passed
     FROM ${M.$table}`,
);

const DELETE_EXPIRED = preparedStatement(
  'messages-delete-expired',
  `
  WITH doomed AS (
    SELECT ${M.id}, ${M.expiresAt} FROM ${M.$table}
     WHERE (${M.expiresAt}, ${M.id}) <= ${RECORDED_UNTIL_KEY} AND ${M.expiresAt} <= ${RECORDED_UNTIL}
    ORDER BY ${M.expiresAt} LIMIT $1 FOR UPDATE SKIP LOCKED
  ), message AS (
    DELETE FROM ${M.$table} m USING doomed WHERE m.${M.id} = doomed.${M.id} AND m.${M.expiresAt} = doomed.${M.expiresAt}
    RETURNING m.${M.id}, m.${M.expiresAt}
  ), bodies AS (
    DELETE FROM ${B.$table} b USING message WHERE b.${B.messageId} = message.${M.id} AND b.${B.expiresAt} = message.${M.expiresAt}
    RETURNING octet_length(b.${B.body}) AS bytes
  ), pending AS (
    DELETE FROM ${D.$table} d USING message WHERE d.${D.messageId} = message.${M.id} AND d.${D.expiresAt} = message.${M.expiresAt}
  ), receipts AS (
    DELETE FROM ${R.$table} r USING message WHERE r.${R.messageId} = message.${M.id} AND r.${R.expiresAt} = message.${M.expiresAt}
  )
  SELECT (SELECT count(*)::int FROM message) AS count,
         (SELECT coalesce(sum(bytes), 0) FROM bodies) AS bytes`,
);

// By ctid: these tables are not partitioned, and a TID scan of the rows just
// picked is far cheaper than a join on their keys.
const DELETE_EXPIRED_SIDE_ROWS = preparedStatement(
  'messages-delete-expired-side-rows',
  `
  WITH claims AS (${deleteBatch(CLAIM.$table, `${CLAIM.expiresAt} <= now() ORDER BY ${CLAIM.expiresAt}`)}),
  marks AS (${deleteBatch(FANOUT.$table, `${FANOUT.expiresAt} <= now()`)}),
  expired AS (${deleteBatch(E.$table, statusRecordExpired(E.expiresAt))}),
  undelivered AS (${deleteBatch(U.$table, statusRecordExpired(U.expiresAt))})
  SELECT greatest((SELECT count(*) FROM claims), (SELECT count(*) FROM marks),
                  (SELECT count(*) FROM undelivered), (SELECT count(*) FROM expired))::int AS count`,
);

/**
 * The purge's statements on the message tables: daily partitions made ahead
 * and dropped whole, held accounts' messages copied aside, and batched
 * deletes of the rest and of the side rows, each only behind the expiry
 * record's progress. Exported for retention, which runs the purge (and for
 * the legal-hold export).
 */
@Injectable()
export class MessagePurgeRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /**
   * Creates the daily partitions missing for messages of up to `maxTtlSeconds`;
   * returns how many days it created, or null when a table could not be
   * locked within `lockTimeoutMs` (the next run retries; the partitions are
   * made weeks ahead).
   */
  ensurePartitions(maxTtlSeconds: number, lockTimeoutMs: number): Promise<number | null> {
    return this.withLockTimeout(lockTimeoutMs, (client) =>
      ensureExpiryPartitions(client, maxTtlSeconds),
    );
  }

  /**
   * Drops the daily partitions whose whole day is over and recorded, one table at a time:
   * first DETACH (a catalog change: the parent's ACCESS EXCLUSIVE lock is
   * held for milliseconds, and sends queue behind it only that long), then
   * DROP of the detached table, which locks nothing anyone else uses while
   * its files are unlinked (the slow part). Never two parents in one
   * transaction: a send or an ack locks several parents, in other orders, so
   * holding two could deadlock with them. (DETACH CONCURRENTLY is refused
   * while a DEFAULT partition exists.) A partition whose parent cannot be
   * locked within `lockTimeoutMs` waits for the next run. Returns the
   * partitions that went: name, size, and for messages' own partitions how
   * many messages they held (the purge log's record).
   */
  async dropEndedPartitions(lockTimeoutMs: number): Promise<DroppedPartition[]> {
    const ended = await this.pool.query<{ name: string; parent: string; attached: boolean }>(
      ENDED_PARTITIONS,
    );
    const detached: { name: string; partition: string }[] = [];
    for (const { name, parent, attached } of ended.rows) {
      const partition = pg.escapeIdentifier(name);
      if (
        !attached ||
        (await this.withLockTimeout(lockTimeoutMs, (client) =>
          client.query(
            maintenance(`ALTER TABLE ${pg.escapeIdentifier(parent)} DETACH PARTITION ${partition}`),
          ),
        ))
      )
        detached.push({ name, partition });
    }
    // Detached, they are tables of their own, dropped one after the other.
    // Most of a drop is the kernel unlinking files of freshly written data
    // (system CPU): dropped side by side they took the cores from the sends,
    // which stalled (BENCHMARKS.md, 'Decisions the measurements justify').
    // The messages' partitions go last: the purge log's count of their rows
    // (a scan of the whole day) runs on a connection of its own while the
    // other tables' partitions are dropped, instead of before its own drop.
    const messagesDays = detached.filter(({ name }) => isMessagesPartition(name));
    const ordered = [...detached.filter(({ name }) => !isMessagesPartition(name)), ...messagesDays];
    const counts = new Map(
      messagesDays.map(({ name, partition }) => [name, this.countRows(partition, lockTimeoutMs)]),
    );
    // Awaited in turn below; a failure must not go unhandled while an earlier drop runs.
    for (const counting of counts.values()) counting.catch(() => undefined);
    const dropped: DroppedPartition[] = [];
    for (const { name, partition } of ordered) {
      const counted = counts.get(name);
      const rows = counted === undefined ? undefined : await counted;
      // Not counted within the lock timeout: the partition waits for the next run, as one not dropped.
      if (rows === null) continue;
      const done = await this.withLockTimeout(lockTimeoutMs, async (client) => {
        const measured = await client.query<{ bytes: string }>(
          `SELECT pg_total_relation_size('${partition}'::regclass) AS bytes`,
        );
        await client.query(maintenance(`DROP TABLE IF EXISTS ${partition}`));
        return measured.rows[0];
      });
      if (done !== null) dropped.push({ name, bytes: Number(done.bytes), messages: rows });
    }
    return dropped;
  }

  /**
   * Copies, before the purge removes them, the expired messages pending for
   * or from a held account (docs/retention.md, legal hold), each with its
   * ciphertext and the recipient device's wrapped key. Idempotent; a no-op
   * without holds. Returns how many copies were made.
   */
  async copyHeldBeforePurge(): Promise<number> {
    // Without a hold (the usual case) the copy is not even planned: its plan
    // spans every partition of five tables and costs more than finding nothing.
    const holds = await this.pool.query<{ held: boolean }>(ANY_HOLD);
    if (!holds.rows[0].held) return 0;
    const result = await this.scanExpired<{ count: number }>(COPY_HELD);
    return result.rows[0].count;
  }

  /**
   * The earliest expiry of any message still stored (null when none is), and
   * whether it has passed by PostgreSQL's clock (some stored message has expired).
   */
  async oldestExpiry(): Promise<{ oldest: Date | null; passed: boolean }> {
    const result = await this.pool.query<{ oldest: Date | null; passed: boolean }>(OLDEST_EXPIRY);
    return result.rows[0];
  }

  /**
   * A statement over every expired row (a whole day's: millions), which can
   * outlast the pool's statement timeout that bounds the requests: it runs
   * under the maintenance timeout. (Under the pool's, a day of a million
   * expired messages failed the purge job at every try, so nothing expired
   * was ever removed.)
   */
  private scanExpired<R extends pg.QueryResultRow>(text: string): Promise<pg.QueryResult<R>> {
    return this.inMaintenanceTransaction(undefined, (client) => client.query<R>(maintenance(text)));
  }

  /** How many rows a detached partition holds; null when it could not be locked in time. */
  private async countRows(partition: string, lockTimeoutMs: number): Promise<number | null> {
    const counted = await this.withLockTimeout(lockTimeoutMs, (client) =>
      client.query<{ rows: string }>(maintenance(`SELECT count(*) AS rows FROM ${partition}`)),
    );
    return counted === null ? null : Number(counted.rows[0].rows);
  }

  /**
   * `work` in one transaction under the maintenance timeout, whose lock waits
   * end after `lockTimeoutMs` (while DDL waits for a lock, every insert queues
   * behind it): null when a lock was not granted in time.
   */
  private async withLockTimeout<T>(
    lockTimeoutMs: number,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T | null> {
    try {
      return await this.inMaintenanceTransaction(lockTimeoutMs, work);
    } catch (error) {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return null;
      throw error;
    }
  }

  private async inMaintenanceTransaction<T>(
    lockTimeoutMs: number | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (lockTimeoutMs !== undefined)
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
      await client.query(`SET LOCAL statement_timeout = ${MAINTENANCE_STATEMENT_TIMEOUT_MS}`);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes up to `batchSize` expired and recorded messages that are not in
   * a dropped partition (today's, or DEFAULT), with their bodies, deliveries
   * and receipts; returns how many messages went.
   */
  async deleteExpired(batchSize: number): Promise<{ messages: number; bytes: number }> {
    const result = await this.pool.query<{ count: number; bytes: string }>({
      ...DELETE_EXPIRED,
      values: [batchSize],
    });
    return { messages: result.rows[0].count, bytes: Number(result.rows[0].bytes) };
  }

  /**
   * Deletes up to `batchSize` expired rows of each unpartitioned side table
   * (idempotency claims, unfinished fan-out marks, the status records past
   * their time); returns the larger count.
   */
  async deleteExpiredSideRows(batchSize: number): Promise<number> {
    const result = await this.pool.query<{ count: number }>({
      ...DELETE_EXPIRED_SIDE_ROWS,
      values: [batchSize],
    });
    return result.rows[0].count;
  }
}
