import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Env } from '../../../src/config/env.js';
import { waitFor } from '../wait.js';

/**
 * What a bad request must not change: every table's rows (count and a
 * digest of their content) and the set of Redis keys under the test's
 * prefix. Tables are read from information_schema, so a table added later is
 * covered without touching this file.
 */
export interface StateSnapshot {
  tables: Record<string, { rows: number; digest: string }>;
  redisKeys: string[];
}

// Columns written whatever the requests do, by design:
// - devices.last_seen_at is refreshed by any authenticated request (at most
//   once a minute per device), bad ones included, since the token was good;
// - expiry_progress is moved on by the expiry record's schedule (every
//   EXPIRY_INTERVAL_SECONDS), with or without anything expired.
const VOLATILE_COLUMNS: Record<string, string[]> = {
  devices: ['last_seen_at'],
  expiry_progress: ['recorded_until', 'recorded_until_id'],
};

// Redis keys that change without any request changing state:
// - ratelimit:…  rate-limit counters count every request, bad ones too
//   (the guard runs before validation, so probing costs the prober);
// - presence:…   a device's live connection, refreshed by every heartbeat;
// - bull:…:stalled-check  a running worker's periodic marker (with a TTL);
// - bull:retention:…  the purge's own schedule, advanced by a timer.
// A bad request must still leave every other key alone: queued jobs
// (bull:fanout:…), notice counters, wake-ups.
const VOLATILE_KEYS = [
  /:ratelimit:/,
  /:presence:/,
  /:\{bull\}:[^:]+:stalled-check$/,
  /:\{bull\}:retention:/,
];

/**
 * Waits until the sends a test made while setting up are fanned out: their
 * fanout_pending rows go when the worker has done its job, which may be after
 * the first snapshot was taken, and would then read as a change.
 */
export async function settleFanout(world: { pool: pg.Pool }): Promise<void> {
  await waitFor('set-up sends to be fanned out', async () => {
    const result = await world.pool.query<{ pending: number }>(
      'SELECT count(*)::int AS pending FROM fanout_pending',
    );
    return result.rows[0].pending === 0;
  });
}

/** Ordinary tables of the public schema; a partition's rows are counted with its parent. */
export async function listTables(pool: pg.Pool): Promise<string[]> {
  const result = await pool.query<{ table_name: string }>(
    `SELECT t.table_name
       FROM information_schema.tables t
      WHERE t.table_schema = 'public'
        AND t.table_type = 'BASE TABLE'
        AND NOT EXISTS (
          SELECT 1 FROM pg_inherits i
           WHERE i.inhrelid = format('%I.%I', t.table_schema, t.table_name)::regclass)
      ORDER BY t.table_name`,
  );
  return result.rows.map((row) => row.table_name);
}

export async function snapshotState(world: {
  pool: pg.Pool;
  env: Pick<Env, 'REDIS_URL' | 'REDIS_PREFIX'>;
}): Promise<StateSnapshot> {
  const tables: StateSnapshot['tables'] = {};
  for (const table of await listTables(world.pool)) {
    const volatile = (VOLATILE_COLUMNS[table] ?? []).map((column) => `'${column}'`);
    const row = `(to_jsonb(t)${volatile.map((column) => ` - ${column}`).join('')})::text`;
    const result = await world.pool.query<{ rows: string; digest: string | null }>(
      `SELECT count(*) AS rows, md5(string_agg(md5(${row}), '' ORDER BY md5(${row}))) AS digest
         FROM "${table}" t`,
    );
    tables[table] = { rows: Number(result.rows[0].rows), digest: result.rows[0].digest ?? '' };
  }
  return { tables, redisKeys: await redisKeys(world.env) };
}

async function redisKeys(env: Pick<Env, 'REDIS_URL' | 'REDIS_PREFIX'>): Promise<string[]> {
  const redis = new Redis(env.REDIS_URL);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(
        cursor,
        'MATCH',
        `${env.REDIS_PREFIX}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      keys.push(...batch.filter((key) => !VOLATILE_KEYS.some((pattern) => pattern.test(key))));
    } while (cursor !== '0');
    return keys.sort();
  } finally {
    redis.disconnect();
  }
}

/** The differences between two snapshots, one line each (empty when nothing changed). */
export function stateChanges(before: StateSnapshot, after: StateSnapshot): string[] {
  const changes: string[] = [];
  for (const table of new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])) {
    const was = before.tables[table];
    const now = after.tables[table];
    if (!was || !now) changes.push(`table ${table} ${was ? 'dropped' : 'created'}`);
    else if (was.rows !== now.rows) changes.push(`table ${table}: ${was.rows} → ${now.rows} rows`);
    else if (was.digest !== now.digest) changes.push(`table ${table}: rows changed`);
  }
  const keysBefore = new Set(before.redisKeys);
  const keysAfter = new Set(after.redisKeys);
  for (const key of keysAfter) if (!keysBefore.has(key)) changes.push(`redis key added: ${key}`);
  for (const key of keysBefore) if (!keysAfter.has(key)) changes.push(`redis key removed: ${key}`);
  return changes;
}
