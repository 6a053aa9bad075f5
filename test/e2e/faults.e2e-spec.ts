import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runScenario } from '../../bench/faults/run.js';
import { SCENARIOS } from '../../bench/faults/scenarios.js';
import { PrivatePostgres, PrivateRedis } from '../../bench/faults/services.js';

// Two scenarios of the reliability suite (`npm run faults`, RELIABILITY.md),
// short, so that a regression fails CI: the same runner, processes and
// checks, at a lower rate for a few seconds.
describe('the fault suite, short: every accepted message reaches every addressed device once', () => {
  let redis: PrivateRedis;
  let postgres: PrivatePostgres;
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'faults-'));

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([PrivateRedis.start(), PrivatePostgres.start()]);
  }, 60_000);
  afterAll(async () => {
    await redis?.kill();
    await postgres?.stop();
    rmSync(resultsDir, { recursive: true, force: true });
  });

  it.each(['kill-worker', 'redis-flushall'])(
    '%s',
    async (name) => {
      const scenario = SCENARIOS.find((candidate) => candidate.name === name)!;
      const result = await runScenario(
        scenario,
        { redis, postgres },
        { rate: 100, seconds: 6, faultAtSeconds: 2, resultsDir },
      );
      expect(result.sent).toBe(600);
      expect({
        accepted: result.accepted,
        lost: result.lost,
        lostSample: result.lostSample,
        duplicates: result.duplicates,
      }).toEqual({ accepted: 600, lost: 0, lostSample: [], duplicates: 0 });
      expect(result.delivered).toBe(result.expectedDeliveries);
    },
    120_000,
  );
});
