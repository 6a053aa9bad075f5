import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { Batcher, groupRowsBy } from '../common/batcher.js';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { CLIENT_TIMEOUT_MARGIN_MS, type Executor, PG_POOL } from '../db/db.module.js';
import { ensureExpiryPartitions } from '../db/expiry-partitions.js';
import { packBytes } from '../db/pack-bytes.js';
import { DayKeys } from './at-rest/day-keys.service.js';
import { keyDayFor, open, seal, SEAL_OVERHEAD_BYTES } from './at-rest/sealing.js';

// A wake-up push says how many messages wait, up to this many (a bounded read).
export const PENDING_SUMMARY_LIMIT = 10_000;

export interface NewMessage {
  senderAccountId: string;
  senderDeviceId: string;
  clientMessageId: string;
  recipientAccountId: string | null;
  conversationId: string | null;
  body: Buffer;
  ttlSeconds: number;
  deliveries: { deviceId: string; wrappedKey: Buffer }[];
}

export interface AcceptedMessage {
  messageId: string;
  acceptedAt: Date;
  expiresAt: Date;
  /** Devices it was not stored for (their queue is full). */
  undelivered?: { deviceId: string; reason: 'queue_full' }[];
}

/** A message just inserted: the sender's answer, and what a live frame needs besides. */
export interface StoredMessage extends AcceptedMessage {
  seq: number;
  expiresAtKey: string;
}

export interface PendingMessage {
  seq: number;
  messageId: string;
  clientMessageId: string;
  senderAccountId: string;
  senderDeviceId: string;
  conversationId: string | null;
  /** Base64, as the wire carries it. */
  body: string;
  /** Base64, as the wire carries it. */
  wrappedKey: string;
  acceptedAt: Date;
  expiresAt: Date;
  /**
   * expires_at exactly as PostgreSQL holds it (a Date drops its
   * microseconds): with the id, the whole key of the message, which lets an
   * ack go straight to its partition. Never sent to clients.
   */
  expiresAtKey: string;
}

interface AckRequest {
  deviceId: string;
  messageIds: string[];
  /** expiresAtKey by message id, where the caller read it (the stream does). */
  keys?: ReadonlyMap<string, string>;
}

interface PendingRead {
  deviceId: string;
  limit: number;
  afterSeq: number;
  maxBytes: number;
}

/** One read of a device's pending messages; `more` when others wait after it. */
export interface PendingPage {
  messages: PendingMessage[];
  more: boolean;
}

export interface AckedMessage {
  messageId: string;
  senderAccountId: string;
}

/** A daily partition the purge dropped. */
export interface DroppedPartition {
  name: string;
  bytes: number;
  /** For a partition of `messages`: how many messages it held. */
  messages?: number;
}

/** A message that expired before some of its devices acked it. */
export interface ExpiredUnread {
  messageId: string;
  senderAccountId: string;
  /** The devices that never acked it. */
  deviceIds: string[];
}

export interface MessageStatusRow {
  senderAccountId: string;
  deviceCount: number;
  /** Past its expiry: the devices still pending never got it. */
  expired: boolean;
  pending: string[];
  delivered: { deviceId: string; ackedAt: Date }[];
  undelivered: { deviceId: string; reason: UndeliveredReason }[];
}

/** Why a device will never get a message it was addressed to. */
export type UndeliveredReason = 'device_revoked' | 'device_idle' | 'account_deleted' | 'queue_full';

// The sender's status answers this long after its message expired (PROTOCOL.md: at least 7 days).
export const STATUS_KEPT_AFTER_EXPIRY_SECONDS = 7 * 24 * 3600;

// Deliveries are gone (acked or dropped): count them off their messages (one
// update per message, however many of its deliveries went), and delete the
// body with the last one (explicitly: the message tables are partitioned and
// have no cascading keys). Expects a CTE "gone" of (message_id, expires_at);
// the expires_at equality lets PostgreSQL touch only the message's own partition.
// The message rows are locked in one order, by id, in every statement that
// counts off: two statements updating overlapping messages in different
// orders deadlock, and PostgreSQL only says so after deadlock_timeout (a
// second), cancelling one of them (concurrent ack batches did, under load).
const COUNT_OFF_GONE = `
  gone_per_message AS (
    SELECT message_id, expires_at, count(*)::int AS gone_count FROM gone GROUP BY message_id, expires_at
  ), locked AS (
    SELECT m.id, m.expires_at, g.gone_count FROM messages m
    JOIN gone_per_message g ON m.id = g.message_id AND m.expires_at = g.expires_at
    ORDER BY m.id FOR UPDATE OF m
  ), counted AS (
    UPDATE messages m SET pending_count = m.pending_count - l.gone_count
    FROM locked l WHERE m.id = l.id AND m.expires_at = l.expires_at
    RETURNING m.id, m.expires_at, m.sender_account_id, m.pending_count
  ), emptied AS (
    DELETE FROM message_bodies b USING counted
    WHERE b.message_id = counted.id AND b.expires_at = counted.expires_at AND counted.pending_count <= 0
  )`;

// The message tables are partitioned by expires_at, which every row copies
// from its message: looking a row up by its whole key stays inside one
// partition. A delivery `d` meets its message and body one row at a time (a
// LATERAL with LIMIT, a scalar subquery): the planner cannot turn that into a
// join of whole tables, which it did with plain joins under generic plans on
// young partitions that have no statistics yet.
const PENDING_MESSAGE = `
  LATERAL (SELECT * FROM messages m WHERE m.id = d.message_id AND m.expires_at = d.expires_at LIMIT 1) m`;

// Ciphertext leaves PostgreSQL already in base64 (the wire's form): half the
// bytes of bytea's hex text, and no decoding and re-encoding in Node.
// encode() breaks lines every 76 characters; the wire has none. replace()
// drops them at less than half the cost of translate().
const PENDING_COLUMNS = `
  d.message_seq AS seq, m.id AS "messageId", m.client_message_id AS "clientMessageId",
  m.sender_account_id AS "senderAccountId", m.sender_device_id AS "senderDeviceId",
  m.conversation_id AS "conversationId",
  (SELECT replace(encode(b.body, 'base64'), E'\\n', '') FROM message_bodies b
    WHERE b.message_id = d.message_id AND b.expires_at = d.expires_at) AS body,
  replace(encode(d.wrapped_key, 'base64'), E'\\n', '') AS "wrappedKey", d.key_day::text AS "keyDay",
  m.accepted_at AS "acceptedAt", m.expires_at AS "expiresAt", d.expires_at::text AS "expiresAtKey"`;

// What sealing at rest adds to a delivery's stored values (none on rows older than sealing).
const SEALED_EXTRA = `(CASE WHEN dl.key_day IS NULL THEN 0 ELSE ${SEAL_OVERHEAD_BYTES} END)`;

const openBase64 = (sealed: string, key: Uint8Array): string =>
  open(Buffer.from(sealed, 'base64'), key).toString('base64');

/** A row as PENDING_COLUMNS reads it: body and wrapped key still sealed (unless keyDay is null). */
type SealedPendingRow = PendingMessage & { keyDay: string | null };

// Measured with the benchmark's live-latency: 10 and 25 ms both cut
// PostgreSQL's CPU by about a third against one event-loop turn.
const ACK_LINGER_MS = 10;

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
 * The only code that touches messages, deliveries and receipts. The hot paths
 * are single SQL statements on the pool (named, so PostgreSQL plans them once).
 */
@Injectable()
export class MessagesRepository {
  // Same (sender device, client message id) in one batch: the first is stored, the rest share its answer.
  // At most two insert statements at once: under load the sends that arrive
  // meanwhile commit together in the next one (one commit and fsync for all)
  // rather than in many small statements contending for the two cores.
  private readonly inserts: Batcher<NewMessage, StoredMessage | null>;

  private readonly pendingReads = new Batcher((reads: PendingRead[]) => this.queryPending(reads), {
    keyOf: (read) => `${read.deviceId}:${read.afterSeq}:${read.limit}:${read.maxBytes}`,
  });
  private readonly pendingDevices = new Batcher((messageIds: string[]) =>
    this.queryPendingDevices(messageIds),
  );
  // Acks of many devices in one statement: when a message to a large group is
  // acked by all its devices at once, its counter is updated once per batch
  // rather than once per device (a hot row that every ack would queue on).
  // Acks gather for a few milliseconds, not one event-loop turn: the devices
  // of a message ack it at about the same moment, and in one statement their
  // acks make one update of its pending_count instead of several queued on
  // its row lock, each through another statement's commit.
  private readonly acks = new Batcher((requests: AckRequest[]) => this.ackBatch(requests), {
    lingerMs: ACK_LINGER_MS,
  });
  private readonly fannedOut = new Batcher((messageIds: string[]) =>
    this.markFannedOutBatch(messageIds),
  );

  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(ENV) env: Env,
    private readonly dayKeys: DayKeys,
  ) {
    this.inserts = new Batcher((batch: NewMessage[]) => this.insertBatch(batch), {
      maxBatch: 200,
      maxInFlight: 2,
      spanName: 'messages: insert batch',
      keyOf: (message) => `${message.senderDeviceId}:${message.clientMessageId}`,
      // While PostgreSQL is slow, sends past the bound are refused (503)
      // instead of holding their bodies in memory for as long as it takes.
      maxWaiting: env.INGEST_QUEUE_LIMIT,
      overloaded: () => Problem.unavailable('Too many sends are waiting for the database', 1),
    });
  }

  /**
   * Stores the body once and one delivery per device, atomically. Null when
   * (sender device, client message id) already exists. Concurrent sends are
   * stored together: one statement, one commit (and one fsync) for all.
   */
  insert(message: NewMessage): Promise<StoredMessage | null> {
    return this.inserts.load(message);
  }

  private async insertBatch(batch: NewMessage[]): Promise<(StoredMessage | null)[]> {
    const deliveries = batch.flatMap((message, index) =>
      message.deliveries.map((delivery) => ({ index, ...delivery })),
    );
    // Sealed at rest under the key of each message's day of expiry.
    const now = Date.now();
    const keyDays = batch.map((message) => keyDayFor(now, message.ttlSeconds));
    const keys = await this.dayKeys.forSealing(keyDays);
    const bodies = packBytes(
      batch.map((message, index) => seal(message.body, keys.get(keyDays[index])!)),
    );
    const wrappedKeys = packBytes(
      deliveries.map((delivery) => seal(delivery.wrappedKey, keys.get(keyDays[delivery.index])!)),
    );
    const result = await this.pool.query<StoredMessage & { index: number }>({
      name: 'messages-insert-batch',
      text: `
        WITH input AS (
          SELECT i.*, substr($11::bytea, i.body_offset + 1, i.body_length) AS body
          FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::int[], $8::int[], $9::int[], $10::int[], $17::date[])
            AS i(index, sender_account_id, sender_device_id, client_message_id, recipient_account_id, conversation_id,
                 body_offset, body_length, device_count, ttl_seconds, key_day)
        ), claimed AS (
          -- Idempotency: the claim of (sender device, client message id); a retry claims nothing.
          INSERT INTO message_client_ids (sender_device_id, client_message_id, message_id, accepted_at, expires_at)
          SELECT sender_device_id, client_message_id, gen_random_uuid(), now(), now() + make_interval(secs => ttl_seconds)
          FROM input ORDER BY index
          ON CONFLICT (sender_device_id, client_message_id) DO NOTHING
          RETURNING sender_device_id, client_message_id, message_id, accepted_at, expires_at
        ), message AS (
          INSERT INTO messages (id, sender_account_id, sender_device_id, client_message_id, recipient_account_id,
                                conversation_id, device_count, pending_count, accepted_at, expires_at)
          SELECT claimed.message_id, input.sender_account_id, input.sender_device_id, input.client_message_id,
                 input.recipient_account_id, input.conversation_id, input.device_count, input.device_count,
                 claimed.accepted_at, claimed.expires_at
          FROM claimed JOIN input ON claimed.sender_device_id = input.sender_device_id
                                 AND claimed.client_message_id = input.client_message_id
          ORDER BY input.index
          RETURNING id, seq, sender_device_id, client_message_id, accepted_at, expires_at
        ), bodies AS (
          INSERT INTO message_bodies (message_id, expires_at, body, key_day)
          SELECT message.id, message.expires_at, input.body, input.key_day FROM message
          JOIN input ON message.sender_device_id = input.sender_device_id
                    AND message.client_message_id = input.client_message_id
        ), fanout AS (
          INSERT INTO fanout_pending (message_id, accepted_at, expires_at)
          SELECT id, accepted_at, expires_at FROM message
        ), stored AS (
          INSERT INTO deliveries (device_id, message_seq, message_id, expires_at, wrapped_key, key_day)
          SELECT keyed.device_id, message.seq, message.id, message.expires_at,
                 substr($16::bytea, keyed.key_offset + 1, keyed.key_length), input.key_day
          FROM unnest($12::int[], $13::uuid[], $14::int[], $15::int[]) AS keyed(index, device_id, key_offset, key_length)
          JOIN input ON input.index = keyed.index
          JOIN message ON message.sender_device_id = input.sender_device_id
                      AND message.client_message_id = input.client_message_id
        )
        SELECT input.index, message.id AS "messageId", message.accepted_at AS "acceptedAt", message.expires_at AS "expiresAt",
               message.seq, message.expires_at::text AS "expiresAtKey"
        FROM message JOIN input ON message.sender_device_id = input.sender_device_id
                               AND message.client_message_id = input.client_message_id`,
      values: [
        batch.map((_message, index) => index),
        batch.map((message) => message.senderAccountId),
        batch.map((message) => message.senderDeviceId),
        batch.map((message) => message.clientMessageId),
        batch.map((message) => message.recipientAccountId),
        batch.map((message) => message.conversationId),
        bodies.offsets,
        bodies.lengths,
        batch.map((message) => message.deliveries.length),
        batch.map((message) => message.ttlSeconds),
        bodies.blob,
        deliveries.map((delivery) => delivery.index),
        deliveries.map((delivery) => delivery.deviceId),
        wrappedKeys.offsets,
        wrappedKeys.lengths,
        wrappedKeys.blob,
        keyDays,
      ],
    });
    const byIndex = new Map(result.rows.map(({ index, ...accepted }) => [index, accepted]));
    return batch.map((_message, index) => byIndex.get(index) ?? null);
  }

  /** The first answer to a send, for an idempotent retry. */
  async findBySenderClientId(
    senderDeviceId: string,
    clientMessageId: string,
  ): Promise<AcceptedMessage | null> {
    const result = await this.pool.query<AcceptedMessage>({
      name: 'messages-find-by-client-id',
      text: `SELECT message_id AS "messageId", accepted_at AS "acceptedAt", expires_at AS "expiresAt"
             FROM message_client_ids WHERE sender_device_id = $1 AND client_message_id = $2`,
      values: [senderDeviceId, clientMessageId],
    });
    return result.rows[0] ?? null;
  }

  /**
   * What is still pending for a device, in acceptance order, after `afterSeq`:
   * at most `limit` messages and `maxBytes` of ciphertext as the wire carries
   * it (base64 body and wrapped key), though always the first message.
   * Acked rows are gone, so reading from the start again can never skip a
   * row that committed late; `afterSeq` is only for paging within one read.
   */
  pending(
    deviceId: string,
    page: { limit: number; maxBytes: number; afterSeq?: number },
  ): Promise<PendingPage> {
    return this.pendingReads.load({
      deviceId,
      limit: page.limit,
      maxBytes: page.maxBytes,
      afterSeq: page.afterSeq ?? 0,
    });
  }

  // Many sockets drain at once after a fan-out to a large conversation: one
  // query serves them all, each device with its own cursor and limits.
  //
  // Each device's page of deliveries is taken first, in order, from the
  // primary key; only those rows then meet their messages and bodies. Written
  // as one join, the generic plan joined and encoded every pending row of the
  // device, then sorted and kept a page: a backlog of N cost N per page.
  //
  // The byte cap is applied in PostgreSQL, before any body is encoded or
  // sent: the page's rows (one more than the limit, which tells whether more
  // wait) carry their size from octet_length, which reads the length from the
  // stored value's header without loading it, and a running sum keeps the
  // rows that fit (less what sealing at rest adds, which the wire does not
  // carry). Node never holds more than the cap of one read.
  private async queryPending(reads: PendingRead[]): Promise<PendingPage[]> {
    const result = await this.pool.query<SealedPendingRow & { readIndex: number; fetched: string }>(
      {
        name: 'deliveries-pending-batch-capped',
        text: `WITH d AS MATERIALIZED (
               SELECT read.index AS read_index, page.*
               FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::bigint[]) WITH ORDINALITY
                    AS read(device_id, after_seq, page_size, max_bytes, index)
               CROSS JOIN LATERAL (
                 SELECT sized.*, count(*) OVER () AS fetched,
                        row_number() OVER (ORDER BY sized.message_seq) AS position,
                        sum(sized.wire_bytes) OVER (ORDER BY sized.message_seq) AS running_bytes
                 FROM (
                   SELECT dl.*,
                          4 * ((octet_length(dl.wrapped_key) - ${SEALED_EXTRA} + 2) / 3)
                          + 4 * ((COALESCE((SELECT octet_length(b.body) FROM message_bodies b
                                   WHERE b.message_id = dl.message_id AND b.expires_at = dl.expires_at), 0)
                                  - ${SEALED_EXTRA} + 2) / 3)
                            AS wire_bytes
                   FROM deliveries dl
                   WHERE dl.device_id = read.device_id AND dl.message_seq > read.after_seq AND dl.expires_at > now()
                   ORDER BY dl.message_seq LIMIT read.page_size + 1
                 ) sized
               ) page
               WHERE page.position = 1
                  OR (page.position <= read.page_size AND page.running_bytes <= read.max_bytes)
             )
             SELECT d.read_index AS "readIndex", d.fetched, ${PENDING_COLUMNS}
             FROM d CROSS JOIN ${PENDING_MESSAGE}
             ORDER BY d.read_index, d.message_seq`,
        values: [
          reads.map((read) => read.deviceId),
          reads.map((read) => read.afterSeq),
          reads.map((read) => read.limit),
          reads.map((read) => read.maxBytes),
        ],
      },
    );
    // Rows come ordered by read, then seq: each goes straight to its read's page.
    const pages = reads.map((): PendingPage & { fetched: number } => ({
      messages: [],
      more: false,
      fetched: 0,
    }));
    await this.openSealed(result.rows);
    for (const { readIndex, fetched, ...message } of result.rows) {
      message.seq = Number(message.seq);
      const page = pages[Number(readIndex) - 1];
      page.messages.push(message);
      page.fetched = Number(fetched);
    }
    // A row read and not kept (the one past the limit, or those past the byte cap) waits.
    return pages.map(({ messages, fetched }) => ({ messages, more: fetched > messages.length }));
  }

  /** Which of these messages are still pending for the device, in acceptance order (live delivery's late commits). */
  async pendingByIds(deviceId: string, messageIds: string[]): Promise<PendingMessage[]> {
    const result = await this.pool.query<SealedPendingRow>({
      name: 'deliveries-pending-by-ids',
      text: `SELECT ${PENDING_COLUMNS}
             FROM deliveries d CROSS JOIN ${PENDING_MESSAGE}
             WHERE d.device_id = $1 AND d.message_id = ANY($2::uuid[]) AND d.expires_at > now()
             ORDER BY d.message_seq`,
      values: [deviceId, messageIds],
    });
    await this.openSealed(result.rows);
    return result.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }

  /**
   * Opens, in place, the body and wrapped key of rows read with
   * PENDING_COLUMNS (base64 in, base64 out, as the wire carries them). The
   * key day stays on the row: nothing sends it (inboxMessageView picks the
   * wire's fields), and deleting a property on every row read costs more.
   */
  private async openSealed(rows: SealedPendingRow[]): Promise<void> {
    const keys = await this.dayKeys.forOpening(
      rows.flatMap((row) => (row.keyDay === null ? [] : [row.keyDay])),
    );
    for (const row of rows) {
      const key = row.keyDay === null ? undefined : keys.get(row.keyDay);
      if (key) {
        row.wrappedKey = openBase64(row.wrappedKey, key);
        // Null when its last delivery was acked as it was read.
        if (row.body !== null) row.body = openBase64(row.body, key);
      }
    }
  }

  /**
   * Acks: deletes the device's deliveries of these messages, records receipts,
   * and drops a body once its last delivery is gone. Ids that are not pending
   * for this device change nothing.
   */
  ack(
    deviceId: string,
    messageIds: string[],
    keys?: ReadonlyMap<string, string>,
  ): Promise<AckedMessage[]> {
    return this.acks.load({ deviceId, messageIds, keys });
  }

  private async ackBatch(requests: AckRequest[]): Promise<AckedMessage[][]> {
    const pairs = requests.flatMap((request, index) =>
      request.messageIds.map((messageId) => ({
        index,
        deviceId: request.deviceId,
        messageId,
        expiresAt: request.keys?.get(messageId) ?? null,
      })),
    );
    const result = await this.pool.query<AckedMessage & { index: number }>({
      name: 'deliveries-ack',
      text: `
        WITH acked AS (
          -- A pair acked twice in one batch is answered to the first asker only.
          SELECT DISTINCT ON (device_id, message_id) index, device_id, message_id, expires_at
            FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::timestamptz[])
                 AS a(index, device_id, message_id, expires_at)
           ORDER BY device_id, message_id, index
        ), unkeyed AS MATERIALIZED (
          SELECT id, seq, expires_at, sender_account_id FROM messages WHERE id = ANY($5::uuid[])
        ), targets AS MATERIALIZED (
          -- The acked messages first, then each delivery by its whole key.
          -- Left to itself, the planner would join a device's every delivery
          -- to the acks before it knew the messages, guessing from young
          -- partitions. With its expiry known (acks over the stream), a
          -- message is one look-up in one partition ...
          SELECT a.index, a.device_id, m.id AS message_id, m.seq, m.expires_at, m.sender_account_id
            FROM acked a CROSS JOIN LATERAL (
                   SELECT id, seq, expires_at, sender_account_id FROM messages
                    WHERE id = a.message_id AND expires_at = a.expires_at LIMIT 1) m
           WHERE a.expires_at IS NOT NULL
          UNION ALL
          -- ... and without (acks over HTTP), the ids are looked for in every
          -- partition at once: one index scan per partition for the whole set
          -- (PostgreSQL sorts the array once per scan), then a hash join back
          -- to the asks. Linear in the ids whether they are the device's or
          -- not. Never a per-id probe (a LATERAL re-runs the scan of every
          -- partition for each id) nor "m.id = ANY($n)" beside a join with
          -- the asks (the array became an index condition re-sorted on every
          -- probe: 1,000 ids that match nothing cost seconds).
          SELECT a.index, a.device_id, m.id AS message_id, m.seq, m.expires_at, m.sender_account_id
            FROM acked a JOIN unkeyed m ON m.id = a.message_id
           WHERE a.expires_at IS NULL
        ), removed AS (
          -- Only the caller's own delivery goes (a foreign id finds its message
          -- above but no delivery of this device here).
          DELETE FROM deliveries d USING targets t
          WHERE d.device_id = t.device_id AND d.message_seq = t.seq AND d.expires_at = t.expires_at
          RETURNING t.index, d.device_id, d.message_id, d.expires_at, t.sender_account_id
        ), gone AS (
          SELECT message_id, expires_at FROM removed
        ), receipts AS (
          INSERT INTO message_receipts (message_id, device_id, expires_at)
          SELECT message_id, device_id, expires_at FROM removed ON CONFLICT DO NOTHING
        ), ${COUNT_OFF_GONE}
        -- "counted" and "emptied" run to completion unread (as every data-modifying
        -- CTE does); joining them here would be a nested loop over the batch squared.
        SELECT index, message_id AS "messageId", sender_account_id AS "senderAccountId" FROM removed`,
      values: [
        pairs.map((pair) => pair.index),
        pairs.map((pair) => pair.deviceId),
        pairs.map((pair) => pair.messageId),
        pairs.map((pair) => pair.expiresAt),
        pairs.filter((pair) => pair.expiresAt === null).map((pair) => pair.messageId),
      ],
    });
    const perRequest = requests.map((): AckedMessage[] => []);
    for (const { index, ...acked } of result.rows) perRequest[index].push(acked);
    return perRequest;
  }

  /**
   * Drops every pending delivery of a device (revoked, unlinked, its account
   * deleted), inside that transaction, and records why for the senders' status.
   */
  async dropDeviceDeliveries(
    tx: Executor,
    deviceId: string,
    reason: UndeliveredReason,
  ): Promise<void> {
    await tx.execute(
      sql`WITH gone AS (DELETE FROM deliveries WHERE device_id = ${deviceId} RETURNING message_id, expires_at, wrapped_key, key_day),
          held AS (
            -- A legal hold on the device's account, or on a sender, keeps what is dropped here.
            INSERT INTO held_messages (held_account_id, message_id, device_id, sender_account_id,
                   sender_device_id, conversation_id, body, wrapped_key, key_day, accepted_at, expires_at)
            SELECT h.account_id, g.message_id, ${deviceId}, m.sender_account_id, m.sender_device_id,
                   m.conversation_id, b.body, g.wrapped_key, g.key_day, m.accepted_at, m.expires_at
              FROM gone g
              JOIN messages m ON m.id = g.message_id AND m.expires_at = g.expires_at
              JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
              JOIN legal_holds h ON h.account_id = m.sender_account_id
                OR h.account_id = (SELECT account_id FROM devices WHERE id = ${deviceId})
            ON CONFLICT DO NOTHING
          ),
          recorded AS (
            INSERT INTO message_undelivered (message_id, device_id, reason, expires_at)
            SELECT message_id, ${deviceId}, ${reason}, expires_at FROM gone
            ON CONFLICT DO NOTHING
          ),
          ${sql.raw(COUNT_OFF_GONE)}
          SELECT count(*) FROM counted`,
    );
  }

  /**
   * How many unexpired messages are pending for the device (counted up to
   * PENDING_SUMMARY_LIMIT) and when the last of them expires.
   */
  async pendingSummary(deviceId: string): Promise<{ count: number; lastExpiresAt: Date | null }> {
    const result = await this.pool.query<{ count: number; lastExpiresAt: Date | null }>({
      name: 'deliveries-pending-summary',
      text: `SELECT count(*)::int AS count, max(expires_at) AS "lastExpiresAt"
               FROM (SELECT expires_at FROM deliveries
                      WHERE device_id = $1 AND expires_at > now() LIMIT $2) pending`,
      values: [deviceId, PENDING_SUMMARY_LIMIT],
    });
    return result.rows[0];
  }

  /** Devices that still have this message pending. */
  pendingDeviceIds(messageId: string): Promise<string[]> {
    return this.pendingDevices.load(messageId);
  }

  private async queryPendingDevices(messageIds: string[]): Promise<string[][]> {
    const result = await this.pool.query<{ messageId: string; deviceId: string }>({
      name: 'deliveries-devices-of-messages',
      text: `SELECT message_id AS "messageId", device_id AS "deviceId" FROM deliveries WHERE message_id = ANY($1::uuid[])`,
      values: [messageIds],
    });
    return groupRowsBy(messageIds, result.rows, (row) => row.messageId).map((rows) =>
      rows.map((row) => row.deviceId),
    );
  }

  async markFannedOut(messageIds: string[]): Promise<void> {
    // Through the batcher: the jobs a worker runs at once share one statement.
    await Promise.all(messageIds.map((messageId) => this.fannedOut.load(messageId)));
  }

  private async markFannedOutBatch(messageIds: string[]): Promise<string[]> {
    await this.pool.query({
      name: 'messages-mark-fanned-out',
      // Committed without waiting for its WAL flush: a mark lost to a
      // PostgreSQL crash only makes the reconciler fan the message out again,
      // and a notice of a message already sent costs a socket nothing. An
      // fsync per mark would compete with the sends' own commits.
      text: `WITH relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
             DELETE FROM fanout_pending WHERE message_id = ANY($1::uuid[])
               AND EXISTS (SELECT FROM relaxed)`,
      values: [messageIds],
    });
    return messageIds;
  }

  /** Unexpired messages accepted over `graceSeconds` ago whose fan-out never finished. */
  async notFannedOut(graceSeconds: number, limit: number): Promise<string[]> {
    const result = await this.pool.query<{ id: string }>({
      name: 'messages-not-fanned-out',
      text: `SELECT message_id AS id FROM fanout_pending
             WHERE accepted_at < now() - make_interval(secs => $1) AND expires_at > now()
             ORDER BY accepted_at LIMIT $2`,
      values: [graceSeconds, limit],
    });
    return result.rows.map((row) => row.id);
  }

  async status(messageId: string): Promise<MessageStatusRow | null> {
    const result = await this.pool.query<MessageStatusRow>({
      name: 'messages-status',
      text: `SELECT m.sender_account_id AS "senderAccountId", m.device_count AS "deviceCount",
               m.expires_at <= now() AS "expired",
               COALESCE((SELECT array_agg(d.device_id) FROM deliveries d
                         WHERE d.message_id = m.id AND d.expires_at = m.expires_at), '{}') AS pending,
               COALESCE((SELECT json_agg(json_build_object('deviceId', r.device_id, 'ackedAt', r.acked_at))
                         FROM message_receipts r WHERE r.message_id = m.id AND r.expires_at = m.expires_at), '[]') AS delivered,
               COALESCE((SELECT json_agg(json_build_object('deviceId', u.device_id, 'reason', u.reason))
                         FROM message_undelivered u WHERE u.message_id = m.id), '[]') AS undelivered
             FROM messages m WHERE m.id = $1
           UNION ALL
           -- Purged after expiring unread: what was recorded then.
           SELECT e.sender_account_id, e.device_count, true, e.expired_devices, e.delivered::json,
               COALESCE((SELECT json_agg(json_build_object('deviceId', u.device_id, 'reason', u.reason))
                         FROM message_undelivered u WHERE u.message_id = e.message_id), '[]')
             FROM expired_messages e
            WHERE e.message_id = $1 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = $1)`,
      values: [messageId],
    });
    return result.rows[0] ?? null;
  }

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
   * its files are unlinked (the slow part, ~0.5 s for a large day). Never two
   * parents in one transaction: a send or an ack locks several parents, in
   * other orders, so holding two could deadlock with them. (DETACH
   * CONCURRENTLY is refused while a DEFAULT partition exists.) A partition
   * whose parent cannot be locked within `lockTimeoutMs` waits for the next
   * run. Returns the partitions that went: name, size, and for messages'
   * own partitions how many messages they held (the purge log's record).
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
    // (system CPU): dropped side by side they took both cores, and sends
    // stalled (ingest p99 1.2-4.3x during the purge, against 0.7-2.9x one
    // at a time, for a purge of 0.64-0.77 s against 0.87-0.93 s; BENCHMARKS.md).
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

  /** Up to `limit` expired-unread messages whose frames have not gone out, marked as gone now. */
  async takeExpiredToNotify(limit: number): Promise<ExpiredUnread[]> {
    const result = await this.pool.query<ExpiredUnread>({
      name: 'expired-messages-take-unnotified',
      text: `UPDATE expired_messages e SET notified = true
              WHERE e.message_id IN (SELECT message_id FROM expired_messages WHERE NOT notified
                                      LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING e.message_id AS "messageId", e.sender_account_id AS "senderAccountId",
                    e.expired_devices AS "deviceIds"`,
      values: [limit],
    });
    return result.rows;
  }

  /** Devices a message was not stored for, and why (the sender's status lists them). */
  async recordUndelivered(
    messageId: string,
    expiresAt: Date,
    undelivered: { deviceId: string; reason: UndeliveredReason }[],
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO message_undelivered (message_id, device_id, reason, expires_at)
       SELECT $1, u.device_id, u.reason, $2 FROM unnest($3::uuid[], $4::text[]) AS u(device_id, reason)
       ON CONFLICT DO NOTHING`,
      [
        messageId,
        expiresAt,
        undelivered.map((entry) => entry.deviceId),
        undelivered.map((entry) => entry.reason),
      ],
    );
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
