import { Inject, Injectable } from '@nestjs/common';
import pg from 'pg';
import { Batcher } from '../common/batcher.js';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { PG_POOL } from '../db/db.module.js';
import { packBytes } from '../db/pack-bytes.js';
import {
  deliveries,
  expiredMessages,
  fanoutPending,
  messageBodies,
  messageClientIds,
  messageReceipts,
  messages,
  messageUndelivered,
} from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { preparedStatement, statementText } from '../db/statements.js';
import { DayKeys } from './at-rest/day-keys.service.js';
import { keyDayFor, seal } from './at-rest/sealing.js';
import type {
  AcceptedMessage,
  ExpiredUnread,
  StoredMessage,
  UndeliveredReason,
} from './messages.types.js';

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

export interface MessageStatusRow {
  senderAccountId: string;
  deviceCount: number;
  /** Past its expiry: the devices still pending never got it. */
  expired: boolean;
  pending: string[];
  delivered: { deviceId: string; ackedAt: Date }[];
  undelivered: { deviceId: string; reason: UndeliveredReason }[];
}

const M = sqlNames(messages);
const CLAIM = sqlNames(messageClientIds);
const B = sqlNames(messageBodies);
const FANOUT = sqlNames(fanoutPending);
const D = sqlNames(deliveries);
const R = sqlNames(messageReceipts);
const U = sqlNames(messageUndelivered);
const E = sqlNames(expiredMessages);

// A new message's id: a UUIDv7 (RFC 9562), the millisecond of acceptedAt
// (the transaction's now()) in its first 48 bits, then random bits: a random
// v4 UUID with its first 6 bytes replaced and two bits set, which turn its
// version 4 into 7. The message id leads the keys of the messages, their
// bodies and receipts, and the deliveries' message index: with random ids
// every send wrote into a random leaf page of each (a page to read in, and
// after each checkpoint a whole page image in the WAL); time-ordered ones
// append at their right edge (BENCHMARKS.md, 'Decisions the measurements
// justify'). PostgreSQL 18's uuidv7() makes the same; 15 has none.
const NEW_MESSAGE_ID = `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send(floor(extract(epoch FROM now()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid`;

// The send's one statement. The columns of "input" and "keyed" name the
// statement's own arrays (unnest's), not the schema's.
const INSERT_BATCH = preparedStatement(
  'messages-insert-batch',
  `
  WITH input AS (
    SELECT i.*, substr($11::bytea, i.body_offset + 1, i.body_length) AS body
    FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::int[], $8::int[], $9::int[], $10::int[], $17::date[])
      AS i(index, sender_account_id, sender_device_id, client_message_id, recipient_account_id, conversation_id,
           body_offset, body_length, device_count, ttl_seconds, key_day)
  ), claimed AS (
    -- Idempotency: the claim of (sender device, client message id); a retry claims nothing.
    INSERT INTO ${CLAIM.$table} (${CLAIM.senderDeviceId}, ${CLAIM.clientMessageId}, ${CLAIM.messageId}, ${CLAIM.acceptedAt}, ${CLAIM.expiresAt})
    SELECT sender_device_id, client_message_id, ${NEW_MESSAGE_ID}, now(), now() + make_interval(secs => ttl_seconds)
    FROM input ORDER BY index
    ON CONFLICT (${CLAIM.senderDeviceId}, ${CLAIM.clientMessageId}) DO NOTHING
    RETURNING ${CLAIM.senderDeviceId}, ${CLAIM.clientMessageId}, ${CLAIM.messageId}, ${CLAIM.acceptedAt}, ${CLAIM.expiresAt}
  ), message AS (
    INSERT INTO ${M.$table} (${M.id}, ${M.senderAccountId}, ${M.senderDeviceId}, ${M.clientMessageId}, ${M.recipientAccountId},
                          ${M.conversationId}, ${M.deviceCount}, ${M.pendingCount}, ${M.acceptedAt}, ${M.expiresAt})
    SELECT claimed.${CLAIM.messageId}, input.sender_account_id, input.sender_device_id, input.client_message_id,
           input.recipient_account_id, input.conversation_id, input.device_count, input.device_count,
           claimed.${CLAIM.acceptedAt}, claimed.${CLAIM.expiresAt}
    FROM claimed JOIN input ON claimed.${CLAIM.senderDeviceId} = input.sender_device_id
                           AND claimed.${CLAIM.clientMessageId} = input.client_message_id
    ORDER BY input.index
    RETURNING ${M.id}, ${M.seq}, ${M.senderDeviceId}, ${M.clientMessageId}, ${M.acceptedAt}, ${M.expiresAt}
  ), bodies AS (
    INSERT INTO ${B.$table} (${B.messageId}, ${B.expiresAt}, ${B.body}, ${B.keyDay})
    SELECT message.${M.id}, message.${M.expiresAt}, input.body, input.key_day FROM message
    JOIN input ON message.${M.senderDeviceId} = input.sender_device_id
              AND message.${M.clientMessageId} = input.client_message_id
  ), fanout AS (
    INSERT INTO ${FANOUT.$table} (${FANOUT.messageId}, ${FANOUT.acceptedAt}, ${FANOUT.expiresAt})
    SELECT ${M.id}, ${M.acceptedAt}, ${M.expiresAt} FROM message
  ), stored AS (
    INSERT INTO ${D.$table} (${D.deviceId}, ${D.messageSeq}, ${D.messageId}, ${D.expiresAt}, ${D.wrappedKey}, ${D.keyDay})
    SELECT keyed.device_id, message.${M.seq}, message.${M.id}, message.${M.expiresAt},
           substr($16::bytea, keyed.key_offset + 1, keyed.key_length), input.key_day
    FROM unnest($12::int[], $13::uuid[], $14::int[], $15::int[]) AS keyed(index, device_id, key_offset, key_length)
    JOIN input ON input.index = keyed.index
    JOIN message ON message.${M.senderDeviceId} = input.sender_device_id
                AND message.${M.clientMessageId} = input.client_message_id
  )
  SELECT input.index, message.${M.id} AS "messageId", message.${M.acceptedAt} AS "acceptedAt", message.${M.expiresAt} AS "expiresAt",
         message.${M.seq} AS seq, message.${M.expiresAt}::text AS "expiresAtKey"
  FROM message JOIN input ON message.${M.senderDeviceId} = input.sender_device_id
                         AND message.${M.clientMessageId} = input.client_message_id`,
);

const FIND_BY_CLIENT_ID = preparedStatement(
  'messages-find-by-client-id',
  `SELECT ${CLAIM.messageId} AS "messageId", ${CLAIM.acceptedAt} AS "acceptedAt", ${CLAIM.expiresAt} AS "expiresAt"
   FROM ${CLAIM.$table} WHERE ${CLAIM.senderDeviceId} = $1 AND ${CLAIM.clientMessageId} = $2`,
);

// Committed without waiting for its WAL flush: a mark lost to a PostgreSQL
// crash only makes the reconciler fan the message out again, and a notice of
// a message already sent costs a socket nothing. An fsync per mark would
// compete with the sends' own commits.
const MARK_FANNED_OUT = preparedStatement(
  'messages-mark-fanned-out',
  `WITH relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
   DELETE FROM ${FANOUT.$table} WHERE ${FANOUT.messageId} = ANY($1::uuid[])
     AND EXISTS (SELECT FROM relaxed)`,
);

const NOT_FANNED_OUT = preparedStatement(
  'messages-not-fanned-out',
  `SELECT ${FANOUT.messageId} AS id FROM ${FANOUT.$table}
   WHERE ${FANOUT.acceptedAt} < now() - make_interval(secs => $1) AND ${FANOUT.expiresAt} > now()
   ORDER BY ${FANOUT.acceptedAt} LIMIT $2`,
);

// The devices still to take the message are read apart from the message's
// own rows: deliveries are placed by device, messages by message
// (src/db/distribution.ts), and a distributed PostgreSQL passes a CTE's
// result on rather than joining the two groups' tables across nodes.
const STATUS = preparedStatement(
  'messages-status',
  `WITH message AS MATERIALIZED (
     SELECT ${M.id}, ${M.senderAccountId}, ${M.deviceCount}, ${M.expiresAt} FROM ${M.$table} WHERE ${M.id} = $1
   ), pending AS MATERIALIZED (
     SELECT array_agg(d.${D.deviceId}) AS devices FROM ${D.$table} d
      WHERE d.${D.messageId} = (SELECT ${M.id} FROM message) AND d.${D.expiresAt} = (SELECT ${M.expiresAt} FROM message)
   )
   SELECT m.${M.senderAccountId} AS "senderAccountId", m.${M.deviceCount} AS "deviceCount",
     m.${M.expiresAt} <= now() AS "expired",
     COALESCE((SELECT devices FROM pending), '{}') AS pending,
     COALESCE((SELECT json_agg(json_build_object('deviceId', r.${R.deviceId}, 'ackedAt', r.${R.ackedAt}))
               FROM ${R.$table} r WHERE r.${R.messageId} = m.${M.id} AND r.${R.expiresAt} = m.${M.expiresAt}), '[]') AS delivered,
     COALESCE((SELECT json_agg(json_build_object('deviceId', u.${U.deviceId}, 'reason', u.${U.reason}))
               FROM ${U.$table} u WHERE u.${U.messageId} = m.${M.id}), '[]') AS undelivered
   FROM message m
 UNION ALL
 -- Purged after expiring unread: what was recorded then.
 SELECT e.${E.senderAccountId}, e.${E.deviceCount}, true, e.${E.expiredDevices}, e.${E.delivered}::json,
     COALESCE((SELECT json_agg(json_build_object('deviceId', u.${U.deviceId}, 'reason', u.${U.reason}))
               FROM ${U.$table} u WHERE u.${U.messageId} = e.${E.messageId}), '[]')
   FROM ${E.$table} e
  WHERE e.${E.messageId} = $1 AND NOT EXISTS (SELECT FROM message)`,
);

const TAKE_EXPIRED_UNNOTIFIED = preparedStatement(
  'expired-messages-take-unnotified',
  `UPDATE ${E.$table} e SET ${E.notified} = true
    WHERE e.${E.messageId} IN (SELECT ${E.messageId} FROM ${E.$table} WHERE NOT ${E.notified}
                            LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING e.${E.messageId} AS "messageId", e.${E.senderAccountId} AS "senderAccountId",
          e.${E.expiredDevices} AS "deviceIds"`,
);

const RECORD_UNDELIVERED = statementText(
  'messages-record-undelivered',
  `INSERT INTO ${U.$table} (${U.messageId}, ${U.deviceId}, ${U.reason}, ${U.expiresAt})
   SELECT $1, u.device_id, u.reason, $2 FROM unnest($3::uuid[], $4::text[]) AS u(device_id, reason)
   ON CONFLICT DO NOTHING`,
);

/**
 * The messages as their senders know them: the batched insert (message,
 * body, deliveries, idempotency claim and fan-out mark in one statement), the
 * first answer for a retry, the fan-out marks, and what the sender's status
 * and `expired` notices read. The hot paths are single SQL statements on the
 * pool (named, so PostgreSQL plans them once).
 */
@Injectable()
export class MessagesRepository {
  // Same (sender device, client message id) in one batch: the first is stored, the rest share its answer.
  // At most two insert statements at once: under load the sends that arrive
  // meanwhile commit together in the next one (one commit and fsync for all)
  // rather than in many small statements contending for the cores.
  private readonly inserts: Batcher<NewMessage, StoredMessage | null>;

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
      ...INSERT_BATCH,
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
      ...FIND_BY_CLIENT_ID,
      values: [senderDeviceId, clientMessageId],
    });
    return result.rows[0] ?? null;
  }

  async markFannedOut(messageIds: string[]): Promise<void> {
    // Through the batcher: the jobs a worker runs at once share one statement.
    await Promise.all(messageIds.map((messageId) => this.fannedOut.load(messageId)));
  }

  private async markFannedOutBatch(messageIds: string[]): Promise<string[]> {
    await this.pool.query({
      ...MARK_FANNED_OUT,
      values: [messageIds],
    });
    return messageIds;
  }

  /** Unexpired messages accepted over `graceSeconds` ago whose fan-out never finished. */
  async notFannedOut(graceSeconds: number, limit: number): Promise<string[]> {
    const result = await this.pool.query<{ id: string }>({
      ...NOT_FANNED_OUT,
      values: [graceSeconds, limit],
    });
    return result.rows.map((row) => row.id);
  }

  async status(messageId: string): Promise<MessageStatusRow | null> {
    const result = await this.pool.query<MessageStatusRow>({
      ...STATUS,
      values: [messageId],
    });
    return result.rows[0] ?? null;
  }

  /** Up to `limit` expired-unread messages whose frames have not gone out, marked as gone now. */
  async takeExpiredToNotify(limit: number): Promise<ExpiredUnread[]> {
    const result = await this.pool.query<ExpiredUnread>({
      ...TAKE_EXPIRED_UNNOTIFIED,
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
    await this.pool.query(RECORD_UNDELIVERED, [
      messageId,
      expiresAt,
      undelivered.map((entry) => entry.deviceId),
      undelivered.map((entry) => entry.reason),
    ]);
  }
}
