import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { bytea, timestamptz } from './columns.js';

// messages, message_bodies, deliveries and message_receipts are partitioned by
// RANGE (expires_at), one partition a day plus a DEFAULT one (migration
// 0004_partition_message_tables, which drizzle-kit cannot express): the purge
// drops a day's partitions whole. Each row carries its message's expires_at,
// the partition key, in its primary key. There are no foreign keys among them
// (one to a partitioned table would need the key and would block the DROP):
// whatever a cascade did is deleted explicitly (deliveries.repository.ts,
// message-purge.repository.ts).

/**
 * A message is stored once. `seq` is the acceptance order; deliveries copy it,
 * so a device's pending messages are read in order from one index. The row is
 * narrow (the body lives in message_bodies) because every ack updates it.
 * It goes at expiry.
 */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').notNull().defaultRandom(),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    senderAccountId: uuid('sender_account_id').notNull(),
    senderDeviceId: uuid('sender_device_id').notNull(),
    clientMessageId: uuid('client_message_id').notNull(),
    recipientAccountId: uuid('recipient_account_id'),
    conversationId: uuid('conversation_id'),
    deviceCount: integer('device_count').notNull(),
    pendingCount: integer('pending_count').notNull(),
    acceptedAt: timestamptz('accepted_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.id, table.expiresAt] }),
    // In expiry order, ties broken by id: the expiry recorder reads on from
    // where it stopped (expiry_progress), however many messages share an expiry.
    index('messages_expires_at_id_idx').on(table.expiresAt, table.id),
  ],
);

/**
 * Idempotency: one message per (sender device, client message id). A unique
 * index on the partitioned messages table would have to include expires_at
 * (and a retry computes another one), so the claim lives in this small
 * unpartitioned table, written by the same statement as the message. It keeps
 * the first answer (accepted_at, expires_at), so a retry is answered from one
 * row; the purge deletes it after expiry.
 */
export const messageClientIds = pgTable(
  'message_client_ids',
  {
    senderDeviceId: uuid('sender_device_id').notNull(),
    clientMessageId: uuid('client_message_id').notNull(),
    messageId: uuid('message_id').notNull(),
    acceptedAt: timestamptz('accepted_at').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.senderDeviceId, table.clientMessageId] }),
    index('message_client_ids_expires_at_idx').on(table.expiresAt),
  ],
);

/**
 * The UTC day whose key seals a row's ciphertext at rest (expiry_day_keys,
 * src/messages/at-rest/): null for rows stored before sealing existed, which
 * are kept as they came.
 */
const keyDay = () => date('key_day', { mode: 'string' });

/** The ciphertext, written once; deleted with the last delivery (or at expiry). */
export const messageBodies = pgTable(
  'message_bodies',
  {
    messageId: uuid('message_id').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    // Sealed under the key of key_day: nonce ‖ XChaCha20-Poly1305 ciphertext.
    body: bytea('body').notNull(),
    keyDay: keyDay(),
  },
  (table) => [primaryKey({ columns: [table.messageId, table.expiresAt] })],
);

/**
 * Messages whose fan-out has not finished: inserted with the message, deleted
 * by the accepting process or the fan-out job once done. The reconciler
 * re-enqueues what stays here (a crash, or a job lost with Redis). A small table of its own, so that marking costs no rewrite of
 * the message row. Not partitioned (it holds only unfinished fan-outs);
 * expires_at lets the purge delete what expired before its fan-out finished.
 */
export const fanoutPending = pgTable('fanout_pending', {
  messageId: uuid('message_id').primaryKey(),
  acceptedAt: timestamptz('accepted_at').notNull().defaultNow(),
  expiresAt: timestamptz('expires_at').notNull(),
});

/**
 * What a device still has to receive: ack deletes the row ("everything still
 * pending" cannot skip a row that commits late). Keyed by device first.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    // No foreign key to devices, on purpose: its check takes a KEY SHARE lock
    // on the device row for every delivery inserted, and concurrent sends to
    // the same devices then contend on those rows (multixacts). Sends only
    // ever name current devices (the coverage rule), and devices are never
    // deleted, only revoked (which drops their deliveries).
    deviceId: uuid('device_id').notNull(),
    messageSeq: bigint('message_seq', { mode: 'number' }).notNull(),
    messageId: uuid('message_id').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    // Sealed like the body, under the same day's key.
    wrappedKey: bytea('wrapped_key').notNull(),
    keyDay: keyDay(),
  },
  (table) => [
    primaryKey({ columns: [table.deviceId, table.messageSeq, table.expiresAt] }),
    index('deliveries_message_idx').on(table.messageId),
  ],
);

/** Which device acked a message, and when: the sender's status view. */
export const messageReceipts = pgTable(
  'message_receipts',
  {
    messageId: uuid('message_id').notNull(),
    deviceId: uuid('device_id').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    ackedAt: timestamptz('acked_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.messageId, table.deviceId, table.expiresAt] })],
);

/**
 * Devices a message was addressed to and will never reach, and why (a
 * revoked or idle-unlinked device, a deleted account): the sender's status
 * lists them as `undelivered`. Written only on those rare events, so not
 * partitioned; the purge deletes a row a week after its message expired,
 * as long as the status answers for that message.
 */
export const messageUndelivered = pgTable(
  'message_undelivered',
  {
    messageId: uuid('message_id').notNull(),
    deviceId: uuid('device_id').notNull(),
    reason: text('reason').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    recordedAt: timestamptz('recorded_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.messageId, table.deviceId] }),
    index('message_undelivered_expires_at_idx').on(table.expiresAt),
  ],
);

/**
 * Messages that expired with devices that never acked them: what the
 * sender's status answers after the message itself is purged (PROTOCOL.md:
 * at least 7 days after expiry), and the `expired` frames owed to the
 * sender's connected devices (`notified` once they went out).
 */
export const expiredMessages = pgTable(
  'expired_messages',
  {
    messageId: uuid('message_id').primaryKey(),
    senderAccountId: uuid('sender_account_id').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    deviceCount: integer('device_count').notNull(),
    // [{deviceId, ackedAt}] of the devices that did ack it.
    delivered: jsonb('delivered').notNull(),
    expiredDevices: uuid('expired_devices').array().notNull(),
    notified: boolean('notified').notNull().default(false),
  },
  (table) => [
    index('expired_messages_expires_at_idx').on(table.expiresAt),
    index('expired_messages_unnotified_idx')
      .on(table.messageId)
      .where(sql`NOT ${table.notified}`),
  ],
);

/**
 * How far the expiry recorder got (one row): every message before
 * (recorded_until, recorded_until_id) in expiry order has had its
 * expired-unread deliveries recorded in expired_messages and taken off the
 * queue counts, so the purge may remove it. The purge never removes a
 * message past this point.
 */
export const expiryProgress = pgTable(
  'expiry_progress',
  {
    id: smallint('id').primaryKey().default(1),
    recordedUntil: timestamptz('recorded_until')
      .notNull()
      .default(sql`'-infinity'`),
    recordedUntilId: uuid('recorded_until_id')
      .notNull()
      .default(sql`'00000000-0000-0000-0000-000000000000'`),
  },
  (table) => [check('expiry_progress_single_row', sql`${table.id} = 1`)],
);

/**
 * The keys that seal message ciphertext at rest, one per UTC day of expiry
 * (docs/retention.md, "Crypto-shredding"): 32 random bytes, kept wrapped by
 * the master key (nonce ‖ XChaCha20-Poly1305 ciphertext, the day as
 * associated data). The purge deletes a day's key once the day is over
 * (unless a legal hold keeps copies sealed under it), which leaves every
 * copy of that day's rows unreadable.
 */
export const expiryDayKeys = pgTable('expiry_day_keys', {
  day: date('day', { mode: 'string' }).primaryKey(),
  wrappedKey: bytea('wrapped_key').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/**
 * The master key when AT_REST_MASTER_KEY is not configured: generated by the
 * first process that needs it (one row), with a warning at every start, since
 * a copy of the database then holds what unwraps its day keys.
 */
export const atRestMasterKey = pgTable(
  'at_rest_master_key',
  {
    id: smallint('id').primaryKey().default(1),
    key: bytea('key').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [check('at_rest_master_key_single_row', sql`${table.id} = 1`)],
);
