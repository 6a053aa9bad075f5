import { Inject, Injectable } from '@nestjs/common';
import pg from 'pg';
import { CLIENT_TIMEOUT_MARGIN_MS, PG_POOL } from '../db/db.module.js';
import { ensureExpiryPartitions } from '../db/expiry-partitions.js';
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

// At most $1 rows of `table` where `condition` holds (it may end with an
// ORDER BY), skipping rows that another purge run holds.
const deleteBatch = (table: string, condition: string) => `
  DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM ${table} WHERE ${condition} LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING 1`;

// A record kept for the sender's status (expired_messages, message_undelivered) that is past its time.
const STATUS_RECORD_EXPIRED = `expires_at <= now() - make_interval(secs => ${STATUS_KEPT_AFTER_EXPIRY_SECONDS})`;

/**
 * The purge's statements on the message tables: daily partitions made ahead
 * and dropped whole, held accounts' messages copied aside, expired-unread
 * recorded, and batched deletes of the rest and of the side rows. Exported
 * for retention, which runs the purge (and for the legal-hold export).
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
   * Drops the daily partitions whose whole day is over, one table at a time:
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
      `SELECT partition_name AS name, parent_name AS parent, attached FROM expiry_partitions_ended_by(now())`,
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
    // which stalled (BENCHMARKS.md).
    const dropped: DroppedPartition[] = [];
    for (const { name, partition } of detached) {
      const done = await this.withLockTimeout(lockTimeoutMs, async (client) => {
        const measured = await client.query<{ bytes: string; rows: string | null }>(
          `SELECT pg_total_relation_size('${partition}'::regclass) AS bytes,
                  ${name.startsWith('messages_p') ? `(SELECT count(*) FROM ${partition})` : 'NULL'} AS rows`,
        );
        await client.query(maintenance(`DROP TABLE IF EXISTS ${partition}`));
        return measured.rows[0];
      });
      if (done !== null)
        dropped.push({
          name,
          bytes: Number(done.bytes),
          messages: done.rows === null ? undefined : Number(done.rows),
        });
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
    const result = await this.pool.query<{ count: number }>(`
      WITH held AS (SELECT account_id FROM legal_holds),
      cutoff AS (SELECT now() + interval '1 minute' AS at),
      copies AS (
        INSERT INTO held_messages (held_account_id, message_id, device_id, sender_account_id,
               sender_device_id, conversation_id, body, wrapped_key, key_day, accepted_at, expires_at)
        SELECT h.account_id, m.id, d.device_id,
               m.sender_account_id, m.sender_device_id, m.conversation_id, b.body, d.wrapped_key,
               d.key_day, m.accepted_at, m.expires_at
          FROM held h
          JOIN devices dv ON dv.account_id = h.account_id
          JOIN deliveries d ON d.device_id = dv.id AND d.expires_at <= (SELECT at FROM cutoff)
          JOIN messages m ON m.id = d.message_id AND m.expires_at = d.expires_at
          JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
        UNION ALL
        SELECT h.account_id, m.id, d.device_id, m.sender_account_id, m.sender_device_id,
               m.conversation_id, b.body, d.wrapped_key, d.key_day, m.accepted_at, m.expires_at
          FROM held h
          JOIN messages m ON m.sender_account_id = h.account_id AND m.expires_at <= (SELECT at FROM cutoff)
          JOIN deliveries d ON d.message_id = m.id AND d.expires_at = m.expires_at
          JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
        ON CONFLICT DO NOTHING
        RETURNING 1
      )
      SELECT count(*)::int AS count FROM copies`);
    return result.rows[0].count;
  }

  /**
   * Records, before the purge removes them, the messages that expired with
   * devices that never acked them (each device still has its delivery):
   * what the sender's status answers for a week after, and the `expired`
   * frames owed. Idempotent. Returns how many it recorded.
   */
  async recordExpiredUnread(): Promise<number> {
    const result = await this.pool.query<{ count: number }>(`
      WITH recorded AS (
        INSERT INTO expired_messages (message_id, sender_account_id, expires_at, device_count,
                                      delivered, expired_devices)
        SELECT m.id, m.sender_account_id, m.expires_at, m.device_count,
               COALESCE((SELECT json_agg(json_build_object('deviceId', r.device_id, 'ackedAt', r.acked_at))
                           FROM message_receipts r
                          WHERE r.message_id = m.id AND r.expires_at = m.expires_at), '[]'),
               array_agg(d.device_id ORDER BY d.device_id)
          FROM deliveries d
          JOIN messages m ON m.id = d.message_id AND m.expires_at = d.expires_at
         WHERE d.expires_at <= now()
         GROUP BY m.id, m.sender_account_id, m.expires_at, m.device_count
        ON CONFLICT DO NOTHING
        RETURNING 1
      )
      SELECT count(*)::int AS count FROM recorded`);
    return result.rows[0].count;
  }

  /** How many expired deliveries each device has (the purge takes them off the queue counts). */
  async expiredDeliveriesPerDevice(): Promise<{ deviceId: string; count: number }[]> {
    const result = await this.pool.query<{ deviceId: string; count: number }>(
      `SELECT device_id AS "deviceId", count(*)::int AS count
         FROM deliveries WHERE expires_at <= now() GROUP BY device_id`,
    );
    return result.rows;
  }

  /** The earliest expiry of any message still stored (null when none is). */
  async oldestExpiry(): Promise<Date | null> {
    const result = await this.pool.query<{ oldest: Date | null }>(
      'SELECT min(expires_at) AS oldest FROM messages',
    );
    return result.rows[0].oldest;
  }

  // One transaction whose lock waits end after `lockTimeoutMs` (while DDL waits
  // for a lock, every insert queues behind it): null when one did. Its
  // statements may run for MAINTENANCE_STATEMENT_TIMEOUT_MS.
  private async withLockTimeout<T>(
    lockTimeoutMs: number,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T | null> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
      await client.query(`SET LOCAL statement_timeout = ${MAINTENANCE_STATEMENT_TIMEOUT_MS}`);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return null;
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes up to `batchSize` expired messages that are not in a dropped
   * partition (today's, or DEFAULT), with their bodies, deliveries and
   * receipts; returns how many messages went.
   */
  async deleteExpired(batchSize: number): Promise<{ messages: number; bytes: number }> {
    const result = await this.pool.query<{ count: number; bytes: string }>({
      name: 'messages-delete-expired',
      text: `
        WITH doomed AS (
          SELECT id, expires_at FROM messages WHERE expires_at <= now()
          ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
        ), message AS (
          DELETE FROM messages m USING doomed WHERE m.id = doomed.id AND m.expires_at = doomed.expires_at
          RETURNING m.id, m.expires_at
        ), bodies AS (
          DELETE FROM message_bodies b USING message WHERE b.message_id = message.id AND b.expires_at = message.expires_at
          RETURNING octet_length(b.body) AS bytes
        ), pending AS (
          DELETE FROM deliveries d USING message WHERE d.message_id = message.id AND d.expires_at = message.expires_at
        ), receipts AS (
          DELETE FROM message_receipts r USING message WHERE r.message_id = message.id AND r.expires_at = message.expires_at
        )
        SELECT (SELECT count(*)::int FROM message) AS count,
               (SELECT coalesce(sum(bytes), 0) FROM bodies) AS bytes`,
      values: [batchSize],
    });
    return { messages: result.rows[0].count, bytes: Number(result.rows[0].bytes) };
  }

  /**
   * Deletes up to `batchSize` expired rows of each unpartitioned side table
   * (idempotency claims, unfinished fan-out marks); returns the larger count.
   * By ctid: these tables are not partitioned, and a TID scan of the rows
   * just picked is far cheaper than a join on their keys.
   */
  async deleteExpiredSideRows(batchSize: number): Promise<number> {
    const result = await this.pool.query<{ count: number }>({
      name: 'messages-delete-expired-side-rows',
      text: `
        WITH claims AS (${deleteBatch('message_client_ids', 'expires_at <= now() ORDER BY expires_at')}),
        marks AS (${deleteBatch('fanout_pending', 'expires_at <= now()')}),
        expired AS (${deleteBatch('expired_messages', STATUS_RECORD_EXPIRED)}),
        undelivered AS (${deleteBatch('message_undelivered', STATUS_RECORD_EXPIRED)})
        SELECT greatest((SELECT count(*) FROM claims), (SELECT count(*) FROM marks),
                        (SELECT count(*) FROM undelivered), (SELECT count(*) FROM expired))::int AS count`,
      values: [batchSize],
    });
    return result.rows[0].count;
  }
}
