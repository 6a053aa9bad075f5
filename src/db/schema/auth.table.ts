import { pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.table.js';
import { bytea, timestamptz } from './columns.js';
import { devices } from './devices.table.js';

// Secrets (challenges, tokens, link codes) are stored only as their hash.
// Per-device tables lead with the device id.
export const authChallenges = pgTable(
  'auth_challenges',
  {
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    challengeHash: bytea('challenge_hash').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.deviceId, table.challengeHash] })],
);

export const authTokens = pgTable(
  'auth_tokens',
  {
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    tokenHash: bytea('token_hash').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.deviceId, table.tokenHash] })],
);

export const linkCodes = pgTable('link_codes', {
  codeHash: bytea('code_hash').primaryKey(),
  accountId: uuid('account_id')
    .notNull()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  // No foreign key to devices: link codes are distributed by their own hash
  // (docs/scale-out.md), devices by device id. A revoked device's codes are
  // deleted with its revocation (IdentityRepository), a deleted account's by
  // the cascade from accounts.
  createdByDeviceId: uuid('created_by_device_id').notNull(),
  expiresAt: timestamptz('expires_at').notNull(),
});
