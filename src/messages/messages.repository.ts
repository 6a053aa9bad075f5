import { Inject, Injectable } from '@nestjs/common';
import pg from 'pg';
import { Batcher } from '../common/batcher.js';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { PG_POOL } from '../db/db.module.js';
import { packBytes } from '../db/pack-bytes.js';
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
}
