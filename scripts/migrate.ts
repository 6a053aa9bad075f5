import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EnvError, loadEnv } from '../src/config/env.js';
import { ensureExpiryPartitions } from '../src/db/expiry-partitions.js';

// Any fixed number: every migrator takes this advisory lock, so two that
// start at once run one after the other instead of racing.
const MIGRATION_LOCK = 727_001;

/** The committed migrations, found from this file whether it runs from source or from dist/. */
export function migrationsFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'migrations');
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await admin
        .query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
        .catch((error: { code?: string }) => {
          // Created meanwhile by another migrator: 42P04 when PostgreSQL saw it
          // first, 23505 (the catalog's unique index) when both raced to insert it.
          if (error.code !== '42P04' && error.code !== '23505') throw error;
        });
    }
  } finally {
    await admin.end();
  }
}

/**
 * Applies the committed SQL migrations to the database at `databaseUrl`, then
 * makes sure the daily expiry partitions exist for every message that can be
 * accepted now (up to `maxTtlSeconds` ahead, plus a day). The worker's purge
 * keeps them ahead from then on.
 */
export async function runMigrations(
  databaseUrl: string,
  maxTtlSeconds = loadEnv().MAX_TTL_SECONDS,
): Promise<void> {
  await ensureDatabase(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate(drizzle({ client }), { migrationsFolder: migrationsFolder() });
    await ensureExpiryPartitions(client, maxTtlSeconds);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    const env = loadEnv();
    await runMigrations(env.DATABASE_URL, env.MAX_TTL_SECONDS);
    console.log('migrations applied');
  } catch (error) {
    console.error(
      error instanceof EnvError ? error.message : `migration failed: ${(error as Error).message}`,
    );
    process.exit(1);
  }
}
