import { Inject, Injectable } from '@nestjs/common';
import pg from 'pg';
import { PG_POOL } from '../db/db.module.js';
import {
  deliveries,
  expiredMessages,
  expiryProgress,
  messageReceipts,
  messages,
} from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { preparedStatement } from '../db/statements.js';
import type { ExpiryBatch } from './messages.types.js';

const M = sqlNames(messages);
const D = sqlNames(deliveries);
const R = sqlNames(messageReceipts);
const E = sqlNames(expiredMessages);
const P = sqlNames(expiryProgress);

// The recorder never waits longer than this behind an old transaction of
// someone else's (a backup's, a session left open): past it, that
// transaction cannot be a send (a send is one statement, cut off by the
// statement timeout), and expiry must not stall behind it.
const LONGEST_WAIT_BEHIND_OLD_TRANSACTION_SECONDS = 600;

// How far the recorder may read: every send that can still commit a message
// expiring before this point has its transaction open now. A send's
// expires_at is its transaction's start (now()) plus a TTL, so a message
// expiring before the oldest open transaction's start has been committed (or
// never will be). Run on its own (autocommit): PostgreSQL keeps what
// pg_stat_activity showed for the rest of a transaction, and the batch that
// follows must see everything that had committed by then.
const CUTOFF = preparedStatement(
  'expiry-cutoff',
  `SELECT greatest(now() - make_interval(secs => ${LONGEST_WAIT_BEHIND_OLD_TRANSACTION_SECONDS}),
                   least(now(), (SELECT min(xact_start) FROM pg_stat_activity
                                  WHERE datname = current_database() AND pid <> pg_backend_pid()))) AS cutoff`,
);

const ENSURE_PROGRESS = preparedStatement(
  'expiry-progress-ensure',
  `INSERT INTO ${P.$table} DEFAULT VALUES ON CONFLICT DO NOTHING`,
);

// Taken first in the batch's transaction: two recorders (the schedule's and a
// purge's) take turns, so a batch is never recorded, or released, twice.
const LOCK_PROGRESS = preparedStatement(
  'expiry-progress-lock',
  `SELECT 1 FROM ${P.$table} FOR UPDATE`,
);

const PROGRESS = `(SELECT ${P.recordedUntil}, ${P.recordedUntilId} FROM ${P.$table})`;
const PROGRESS_EXPIRY = `(SELECT ${P.recordedUntil} FROM ${P.$table})`;

// $1 batch size, $2 cutoff; the progress row says where the last batch stopped. Up to $1
// messages that expired after it and by the cutoff, in expiry order: those
// with deliveries left are recorded (their senders' status and `expired`
// frames), the deliveries are counted per device (off the queue counts), and
// the progress moves past the batch (to the cutoff when the batch came back
// short). Nothing is deleted: the purge does that, behind the progress.
const RECORD_BATCH = preparedStatement(
  'expiry-record-batch',
  `
  WITH batch AS MATERIALIZED (
    SELECT ${M.id}, ${M.expiresAt}, ${M.senderAccountId}, ${M.deviceCount} FROM ${M.$table}
     WHERE (${M.expiresAt}, ${M.id}) > ${PROGRESS} AND ${M.expiresAt} >= ${PROGRESS_EXPIRY}
       AND ${M.expiresAt} <= $2
     ORDER BY ${M.expiresAt}, ${M.id} LIMIT $1
  ), unread AS MATERIALIZED (
    SELECT d.${D.messageId}, d.${D.deviceId} FROM ${D.$table} d
      JOIN batch b ON d.${D.messageId} = b.${M.id} AND d.${D.expiresAt} = b.${M.expiresAt}
  ), recorded AS (
    INSERT INTO ${E.$table} (${E.messageId}, ${E.senderAccountId}, ${E.expiresAt}, ${E.deviceCount},
                                  ${E.delivered}, ${E.expiredDevices})
    SELECT b.${M.id}, b.${M.senderAccountId}, b.${M.expiresAt}, b.${M.deviceCount},
           COALESCE((SELECT json_agg(json_build_object('deviceId', r.${R.deviceId}, 'ackedAt', r.${R.ackedAt}))
                       FROM ${R.$table} r
                      WHERE r.${R.messageId} = b.${M.id} AND r.${R.expiresAt} = b.${M.expiresAt}), '[]'),
           u.devices
      FROM (SELECT ${D.messageId}, array_agg(${D.deviceId} ORDER BY ${D.deviceId}) AS devices
              FROM unread GROUP BY ${D.messageId}) u
      JOIN batch b ON b.${M.id} = u.${D.messageId}
    ON CONFLICT DO NOTHING
    RETURNING 1
  ), last AS (
    SELECT ${M.expiresAt}, ${M.id} FROM batch ORDER BY ${M.expiresAt} DESC, ${M.id} DESC LIMIT 1
  ), full_batch AS (
    SELECT count(*) = $1 AS more FROM batch
  ), advanced AS (
    UPDATE ${P.$table} SET
      ${P.recordedUntil} = CASE WHEN (SELECT more FROM full_batch) THEN (SELECT ${M.expiresAt} FROM last) ELSE $2 END,
      ${P.recordedUntilId} = CASE WHEN (SELECT more FROM full_batch) THEN (SELECT ${M.id} FROM last)
                             ELSE 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid END
     WHERE (SELECT more FROM full_batch) OR $2 > ${P.recordedUntil}
  )
  SELECT (SELECT count(*)::int FROM batch) AS messages,
         (SELECT count(*)::int FROM recorded) AS recorded,
         (SELECT more FROM full_batch) AS more,
         (SELECT coalesce(json_agg(json_build_object('deviceId', ${D.deviceId}, 'count', count)), '[]')
            FROM (SELECT ${D.deviceId}, count(*)::int AS count FROM unread GROUP BY ${D.deviceId}) per_device) AS released`,
);

/**
 * The expiry record, kept as messages expire (ExpiryRecorder in retention):
 * which devices never acked each message, for its sender, and the progress
 * the purge stays behind. Reads in expiry order from where it stopped, a
 * bounded batch per transaction.
 */
@Injectable()
export class ExpiryRecordsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** Makes the progress row if it is not there yet (a new database): once per run, before the batches. */
  async ensureProgress(): Promise<void> {
    await this.pool.query(ENSURE_PROGRESS);
  }

  /** The latest expiry that every message up to is committed by now (see CUTOFF). */
  async cutoff(): Promise<Date> {
    const result = await this.pool.query<{ cutoff: Date }>(CUTOFF);
    return result.rows[0].cutoff;
  }

  /** Records the next batch of up to `batchSize` messages that expired by `cutoff`. */
  async recordBatch(batchSize: number, cutoff: Date): Promise<ExpiryBatch> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(LOCK_PROGRESS);
      const result = await client.query<ExpiryBatch>({
        ...RECORD_BATCH,
        values: [batchSize, cutoff],
      });
      await client.query('COMMIT');
      return result.rows[0];
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
