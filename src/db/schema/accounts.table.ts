import { sql } from 'drizzle-orm';
import { pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    handle: text('handle').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  // Handles are unique ignoring case.
  (table) => [uniqueIndex('accounts_handle_lower_idx').on(sql`lower(${table.handle})`)],
);
