import { createPool } from '../../src/db/db.module.js';
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
});
