import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.table.js';
import { bytea, timestamptz } from './columns.js';

export const devices = pgTable(
  'devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    signingKey: bytea('signing_key').notNull(),
    boxKey: bytea('box_key').notNull(),
    boxKeySignature: bytea('box_key_signature').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    lastSeenAt: timestamptz('last_seen_at'),
    // Revoked devices stay for the record; every query of current devices skips them.
    revokedAt: timestamptz('revoked_at'),
  },
  (table) => [index('devices_account_idx').on(table.accountId)],
);
