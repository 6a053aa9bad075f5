import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../scripts/migrate.js';
import { type Env, loadEnv } from '../../src/config/env.js';
import { createRedis, deleteKeysMatching } from '../../src/redis/redis.module.js';

/**
 * An isolated world for one test file: its own migrated database and its own
 * Redis key prefix on the servers found by scripts/services.sh.
 */
export interface TestEnv {
  env: Env;
  pool: pg.Pool;
  /** Drops the database and the Redis keys of this world. */
  destroy(): Promise<void>;
}

export async function createTestEnv(
  overrides: Partial<Record<keyof Env, string>> = {},
): Promise<TestEnv> {
  // The creation time in the name lets global-setup drop only stale leftovers.
  const suffix = `${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const base = loadEnv({ ...process.env, ...overrides });
  const url = new URL(base.DATABASE_URL);
  url.pathname = `/sn_test_${suffix}`;
  const env = loadEnv({
    ...process.env,
    LOG_LEVEL: 'warn',
    // Test files create many accounts from one address and make many calls per
    // account; the rate-limit tests set their own.
    RATE_LIMIT_ACCOUNT_CREATE: '100000',
    RATE_LIMIT_AUTH: '100000',
    RATE_LIMIT_LINK_CODES: '100000',
    RATE_LIMIT_CONVERSATIONS: '100000',
    RATE_LIMIT_MEMBER_ADDS: '100000',
    RATE_LIMIT_DIRECTORY: '100000',
    // Configured, as an operator would (the crypto-shredding test also starts without).
    AT_REST_MASTER_KEY: randomBytes(32).toString('base64'),
    ...overrides,
    DATABASE_URL: url.toString(),
    REDIS_PREFIX: `snt_${suffix}`,
  });
  await runMigrations(env.DATABASE_URL, env.MAX_TTL_SECONDS);
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 4 });
  // Dropping the database at the end terminates whatever is still connected.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return {
    env,
    pool,
    async destroy() {
      await pool.end();
      await dropDatabase(env.DATABASE_URL);
      await deleteRedisPrefix(env, env.REDIS_PREFIX);
    },
  };
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Deletes the keys under `prefix` from the Redis (or Redis Cluster) of `env`. */
export async function deleteRedisPrefix(env: Env, prefix: string): Promise<void> {
  const redis = createRedis(env, { forWorker: true });
  try {
    await deleteKeysMatching(redis, `${prefix}:*`);
  } finally {
    redis.disconnect();
  }
}

/** Row counts of the given tables: the "nothing changed" check of bad-input tests. */
export async function tableCounts(
  pool: pg.Pool,
  tables: string[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const result = await pool.query<{ total: string }>(`SELECT count(*) AS total FROM ${table}`);
    counts[table] = Number(result.rows[0].total);
  }
  return counts;
}
