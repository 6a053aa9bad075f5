import { execFileSync } from 'node:child_process';
import { redisConnectionsFor } from '../../src/redis/connection-budget.js';
import { newAccount } from '../factories/accounts.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

/** The established TCP connections of process `pid` to a local port, read from the kernel (ss). */
function connectionsOf(pid: number, port: number): number {
  const table = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], {
    encoding: 'utf8',
  });
  return table.split('\n').filter((line) => line.includes(`pid=${pid},`)).length;
}

const REDIS_PORT = Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379);
const PG_PORT = Number(
  new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/x').port || 5432,
);

// What docs/scale-out.md states each process holds, counted on real ones:
// so that a fleet of N processes can be sized against max_connections and
// Redis's maxclients.
describe('connection budgets', () => {
  let world: TestEnv;
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    world = await createTestEnv({ DATABASE_POOL_MAX: '3' });
  });

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    await world?.destroy();
  });

  it.each(['api', 'worker', 'all'] as const)(
    'a %s process holds the Redis connections stated, and at most DATABASE_POOL_MAX to PostgreSQL under load',
    async (role) => {
      const server = await startServerProcess(world.env, role, await freePort());
      started.push(server);
      const pid = server.child.pid!;
      // Connections open as the process starts: counted once they stop changing.
      let last = -1;
      await waitFor('Redis connections to settle', () => {
        const now = connectionsOf(pid, REDIS_PORT);
        const settled = now === last && now > 0;
        last = now;
        return settled;
      });
      expect(connectionsOf(pid, REDIS_PORT)).toBe(redisConnectionsFor(role));

      if (role !== 'worker') {
        // Sends enough at once to want more connections than the pool allows.
        const alice = await newAccount(server.baseUrl, 'alice');
        const bob = await newAccount(server.baseUrl, 'bob');
        let peak = 0;
        const sampling = setInterval(() => (peak = Math.max(peak, connectionsOf(pid, PG_PORT))), 5);
        try {
          await Promise.all(
            Array.from({ length: 40 }, (_unused, index) =>
              alice.sendText({ accountId: bob.accountId }, `m${index}`),
            ),
          );
        } finally {
          clearInterval(sampling);
        }
        expect(peak).toBeGreaterThan(0);
        expect(peak).toBeLessThanOrEqual(3);
      }
      expect(connectionsOf(pid, PG_PORT)).toBeLessThanOrEqual(3);
    },
    60_000,
  );
});
