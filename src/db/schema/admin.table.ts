import { bigint, date, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { bytea, timestamptz } from './columns.js';

/**
 * Credentials of the admin API (docs/retention.md): not user tokens. The
 * secret is shown once when the credential is made (`npm run admin`) and
 * only its hash is kept.
 */
export const adminCredentials = pgTable('admin_credentials', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  secretHash: bytea('secret_hash').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  revokedAt: timestamptz('revoked_at'),
});

/**
 * The columns of an append-only, hash-chained log: each row's hash covers
 * its content and the previous row's hash, so an edited, deleted or
 * reordered row breaks the chain (`npm run audit:verify` names it;
 * src/audit/hash-chain.ts).
 */
const chainedLogColumns = () => ({
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  at: timestamptz('at').notNull(),
  // The admin credential's id, or "system".
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  // What the action was about (an account id), when anything.
  subject: text('subject'),
  details: jsonb('details').notNull(),
  prevHash: bytea('prev_hash').notNull(),
  hash: bytea('hash').notNull(),
});

/** Every admin action. */
export const auditLog = pgTable('audit_log', chainedLogColumns());

/** What each purge run removed (details: partitions, messages, bytes, oldest expiry left). */
export const purgeLog = pgTable('purge_log', chainedLogColumns());

/**
 * Legal holds on accounts. While an account is held, what is pending for it
 * or from it is copied to held_messages before the purge removes it, and
 * kept until the hold is released.
 */
export const legalHolds = pgTable('legal_holds', {
  accountId: uuid('account_id').primaryKey(),
  placedAt: timestamptz('placed_at').notNull().defaultNow(),
  placedBy: uuid('placed_by').notNull(),
  // The order's reference (case number), as the operator gives it.
  reference: text('reference').notNull(),
});

/**
 * Copies of held accounts' pending messages taken before the purge removed
 * them: one row per message and recipient device, with the ciphertext and
 * the wrapped key. Deleted when the hold is released.
 */
export const heldMessages = pgTable(
  'held_messages',
  {
    heldAccountId: uuid('held_account_id').notNull(),
    messageId: uuid('message_id').notNull(),
    deviceId: uuid('device_id').notNull(),
    senderAccountId: uuid('sender_account_id').notNull(),
    senderDeviceId: uuid('sender_device_id').notNull(),
    conversationId: uuid('conversation_id'),
    body: bytea('body').notNull(),
    wrappedKey: bytea('wrapped_key').notNull(),
    // Sealed as they were pending: the hold keeps this day's key from the purge.
    keyDay: date('key_day', { mode: 'string' }),
    acceptedAt: timestamptz('accepted_at').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    heldAt: timestamptz('held_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.heldAccountId, table.messageId, table.deviceId] })],
);
