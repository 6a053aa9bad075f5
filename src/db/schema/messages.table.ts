import {
  bigint,
  index,
  integer,
  pgTable,
  primaryKey,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { bytea, timestamptz } from './columns.js';

/**
 * A message is stored once. `seq` is the acceptance order; deliveries copy it,
 * so a device's pending messages are read in order from one index. The row is
 * narrow (the body lives in message_bodies) because every ack updates it.
 * It goes at expiry.
 */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
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
    // Idempotency: one message per (sender device, client message id).
    uniqueIndex('messages_sender_client_id_idx').on(table.senderDeviceId, table.clientMessageId),
    index('messages_expires_at_idx').on(table.expiresAt),
  ],
);

/** The ciphertext, written once; deleted with the last delivery (or at expiry). */
export const messageBodies = pgTable('message_bodies', {
  messageId: uuid('message_id')
    .primaryKey()
    .references(() => messages.id, { onDelete: 'cascade' }),
  body: bytea('body').notNull(),
});

/**
 * Messages whose fan-out has not finished: inserted with the message, deleted
 * by the fan-out job. The reconciler re-enqueues what stays here (a job lost
 * with Redis). A small table of its own, so that marking costs no rewrite of
 * the message row.
 */
export const fanoutPending = pgTable('fanout_pending', {
  messageId: uuid('message_id')
    .primaryKey()
    .references(() => messages.id, { onDelete: 'cascade' }),
  acceptedAt: timestamptz('accepted_at').notNull().defaultNow(),
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
    messageId: uuid('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    wrappedKey: bytea('wrapped_key').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.deviceId, table.messageSeq] }),
    index('deliveries_message_idx').on(table.messageId),
  ],
);

/** Which device acked a message, and when: the sender's status view. */
export const messageReceipts = pgTable(
  'message_receipts',
  {
    messageId: uuid('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id').notNull(),
    ackedAt: timestamptz('acked_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.messageId, table.deviceId] })],
);
