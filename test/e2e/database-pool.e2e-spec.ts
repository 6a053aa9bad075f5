import type pg from 'pg';
import { createPool, PG_POOL } from '../../src/db/db.module.js';
import { startTestApp } from '../support/test-app.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';

describe('the server’s PostgreSQL connections', () => {
  let world: TestEnv;

  beforeAll(async () => {
    world = await createTestEnv();
  });

  afterAll(async () => {
    await world.destroy();
  });

  // Both settings decide what a statement over a month of partitions costs
  // once the partitions have statistics (docs/delivery.md): a custom plan on
  // every call, or a JIT compilation on every call, costs more than the query.
  it('plan each named statement once per connection and never JIT-compile it', async () => {
    const pool = createPool(world.env);
    try {
      const { rows } = await pool.query<{ plans: string; jit: string }>(
        `SELECT current_setting('plan_cache_mode') AS plans, current_setting('jit') AS jit`,
      );
      expect(rows[0]).toEqual({ plans: 'force_generic_plan', jit: 'off' });
    } finally {
      await pool.end();
    }
  });

  it('cancel a statement that runs past DATABASE_STATEMENT_TIMEOUT_MS, and stay usable', async () => {
    const pool = createPool({ ...world.env, DATABASE_STATEMENT_TIMEOUT_MS: 200 });
    try {
      await expect(pool.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
      const { rows } = await pool.query<{ timeout: string }>(
        `SELECT current_setting('statement_timeout') AS timeout`,
      );
      expect(rows[0].timeout).toBe('200ms');
    } finally {
      await pool.end();
    }
  });
});

describe('a process that serves streams', () => {
  // Planned cold, the page read over every daily partition takes several
  // times longer than the read: a device coming back would wait for it.
  it('has each new connection plan the page read before it serves a request', async () => {
    const served = await startTestApp();
    const pool = served.app.get<pg.Pool>(PG_POOL);
    const held: pg.PoolClient[] = [];
    try {
      // Every idle connection and one more: the last is opened now.
      const idle = pool.idleCount;
      for (let index = 0; index <= idle; index++) held.push(await pool.connect());
      const { rows } = await held[idle].query<{ name: string }>(
        'SELECT name FROM pg_prepared_statements',
      );
      expect(rows.map((row) => row.name)).toContain('deliveries-pending-batch-capped');
    } finally {
      for (const client of held) client.release();
      await served.close();
    }
  });
});
