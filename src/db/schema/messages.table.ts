import { sql } from 'drizzle-orm';
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
import { devices } from './devices.table.js';

/**
 * A message is stored once. `seq` is the acceptance order; deliveries copy it,
 * so a device's pending messages are read in order from one index. The body is
 * set to NULL once every delivery is acked; the row goes at expiry.
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
    body: bytea('body'),
    deviceCount: integer('device_count').notNull(),
    pendingCount: integer('pending_count').notNull(),
    acceptedAt: timestamptz('accepted_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    // Set once the fan-out job has routed the message; the reconciler
    // re-enqueues messages where it stays NULL (their job was lost with Redis).
    fannedOutAt: timestamptz('fanned_out_at'),
  },
  (table) => [
    // Idempotency: one message per (sender device, client message id).
    uniqueIndex('messages_sender_client_id_idx').on(table.senderDeviceId, table.clientMessageId),
    index('messages_expires_at_idx').on(table.expiresAt),
    index('messages_not_fanned_out_idx')
      .on(table.acceptedAt)
      .where(sql`${table.fannedOutAt} IS NULL`),
  ],
);

/**
 * What a device still has to receive: ack deletes the row ("everything still
 * pending" cannot skip a row that commits late). Keyed by device first.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
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
