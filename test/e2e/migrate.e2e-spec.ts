import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../scripts/migrate.js';
import { loadEnv } from '../../src/config/env.js';

describe('npm run migrate', () => {
  const url = new URL(loadEnv().DATABASE_URL);
  url.pathname = `/sn_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = url.toString();

  afterAll(async () => {
    const admin = new pg.Client({
      connectionString: databaseUrl.replace(url.pathname, '/postgres'),
    });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
  });

  it('two migrators started at once on a new database both succeed, and each migration runs once', async () => {
    await Promise.all([runMigrations(databaseUrl, 3600), runMigrations(databaseUrl, 3600)]);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const applied = await client.query<{ hash: string }>(
        'SELECT hash FROM drizzle.__drizzle_migrations',
      );
      const hashes = applied.rows.map((row) => row.hash);
      expect(hashes.length).toBeGreaterThan(0);
      expect(new Set(hashes).size).toBe(hashes.length);
      const partitions = await client.query(
        "SELECT 1 FROM pg_inherits WHERE inhparent = 'messages'::regclass",
      );
      expect(partitions.rowCount).toBeGreaterThan(1);
    } finally {
      await client.end();
    }
  });
});
