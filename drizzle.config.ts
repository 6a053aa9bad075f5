import { defineConfig } from 'drizzle-kit';

// Migrations are generated (`npx drizzle-kit generate`) and committed; never pushed.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
});
