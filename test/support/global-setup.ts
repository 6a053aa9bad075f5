import pg from 'pg';

// Drops databases left by test runs that were killed before their cleanup
// (older than two hours, so a run going on beside this one keeps its own).
const STALE_AFTER_SECONDS = 2 * 3600;
export default async function globalSetup(): Promise<void> {
  // (No project imports: jest loads global setup outside its module mapping.)
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/supernode');
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const stale = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'sn\\_test\\_%'",
    );
    const cutoff = Date.now() / 1000 - STALE_AFTER_SECONDS;
    for (const { datname } of stale.rows) {
      const createdAt = Number(datname.split('_')[2]);
      if (!(createdAt < cutoff)) continue;
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  } finally {
    await admin.end();
  }
}
