// npm run faults -- [scenario...] [--rate N] [--seconds N] [--fault-at N]
//
// The reliability suite (RELIABILITY.md): for each scenario, a fresh
// database on a PostgreSQL of its own and a Redis of its own, two API
// processes and a worker (the built server), load through the SDK, one
// fault mid-run, then the check that every accepted message reached every
// addressed device exactly once. Prints a table and writes JSON.
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { progress } from '../lib/progress.js';
import { startedProcesses } from '../lib/rpc.js';
import { runScenario, type ScenarioResult } from './run.js';
import { SCENARIOS } from './scenarios.js';
import { PrivatePostgres, PrivateRedis } from './services.js';

const program = new Command('faults')
  .argument('[scenarios...]', `any of: ${SCENARIOS.map((scenario) => scenario.name).join(', ')}`)
  .option('--rate <n>', 'sends per second', '500')
  .option('--seconds <n>', 'seconds of load', '30')
  .option('--fault-at <n>', 'second of the load at which the fault comes', '10')
  .parse();
const options = program.opts<{ rate: string; seconds: string; faultAt: string }>();
const names = program.args.length ? program.args : SCENARIOS.map((scenario) => scenario.name);
const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
if (unknown.length) program.error(`unknown scenario(s): ${unknown.join(', ')}`);

const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.resolve('bench', 'results');
mkdirSync(resultsDir, { recursive: true });

const redis = await PrivateRedis.start();
const postgres = await PrivatePostgres.start();
progress(`own Redis at ${redis.url}, own PostgreSQL at 127.0.0.1:${postgres.port}`);
// Interrupted (Ctrl-C, a timeout): the Redis and PostgreSQL of this run go too.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    for (const child of startedProcesses) child.kill('SIGKILL');
    void Promise.allSettled([redis.kill(), postgres.stop()]).then(() => process.exit(130));
  });
const results: ScenarioResult[] = [];
const failedRuns: string[] = [];
try {
  for (const name of names) {
    const scenario = SCENARIOS.find((candidate) => candidate.name === name)!;
    progress(`${name}: ${options.rate} msgs/s for ${options.seconds} s`);
    try {
      const result = await runScenario(
        scenario,
        { redis, postgres },
        {
          rate: Number(options.rate),
          seconds: Number(options.seconds),
          faultAtSeconds: Number(options.faultAt),
          resultsDir,
        },
      );
      results.push(result);
      progress(`${name}: ${JSON.stringify(result)}`);
    } catch (error) {
      // The run itself broke (a load process that never answered): said, and the next one runs.
      failedRuns.push(`${name}: ${(error as Error).message}`);
      progress(`${name}: the run failed: ${(error as Error).message}`);
    }
  }
} finally {
  await redis.kill();
  await postgres.stop();
}

const rows = results.map((r) =>
  [
    r.scenario,
    r.sent,
    r.accepted,
    r.neverAccepted,
    `${r.delivered}/${r.expectedDeliveries}`,
    `${r.redelivered} / ${r.duplicates}`,
    r.lost,
    Object.entries(r.errorsByStatus)
      .filter(([status]) => Number(status) >= 500)
      .map(([status, count]) => `${status}×${count}`)
      .join(' ') || '—',
    r.latencyP99Ms.toFixed(0),
    r.latencyMaxMs.toFixed(0),
    r.recoverySeconds === null ? 'not in run' : `${r.recoverySeconds} s`,
  ].join(' | '),
);
console.log(
  [
    '| scenario | sent | accepted | never accepted | delivered | duplicates before / after dedupe | lost | 5xx | p99 ms | max ms | back under baseline p99 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n'),
);
const file = path.join(resultsDir, `faults-${new Date().toISOString().replaceAll(':', '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
progress(`wrote ${file}`);
for (const failed of failedRuns) console.log(`run failed: ${failed}`);
const failing = results.some((result) => result.lost > 0 || result.duplicates > 0);
process.exit(failing || failedRuns.length > 0 ? 1 : 0);
