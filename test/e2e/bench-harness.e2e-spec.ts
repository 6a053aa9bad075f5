import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { withDatabase } from '../../bench/lib/provision.js';
import type { ResolvedFigure, RunReport, Target } from '../../bench/lib/results.js';
import { loadEnv } from '../../src/config/env.js';

// Every item of `npm run bench`, in the order it runs them.
const CEILINGS = [
  'raw-insert',
  'raw-http',
  'raw-bullmq',
  'raw-frames',
  'raw-catchup',
  'raw-purge',
  'raw-idle',
];
const SCENARIOS = [
  'ingest',
  'accept-latency',
  'ack-cost',
  'live-latency',
  'catch-up',
  'fanout-1000',
  'purge',
  'idle-sockets',
];

interface HarnessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The benchmark harness itself, run the way `npm run bench -- --quick` runs
 * it (bench/run.sh; the test script has built the server): it must provision,
 * run every ceiling and scenario against real processes, print and write its
 * report, and remove what it made. Nothing here looks at how fast anything
 * was: benchmarks are not tests.
 */
describe('the benchmark harness (npm run bench -- --quick)', () => {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
  let run: HarnessRun;
  let report: RunReport;

  beforeAll(async () => {
    // A generous budget: on a slow machine the quick run must not skip items.
    run = await runHarness(['--quick', '--budget=540'], { BENCH_RESULTS_DIR: resultsDir });
    if (run.code !== 0) throw new Error(`bench exited with ${run.code}:\n${run.stderr}`);
    report = parseReport(run.stdout);
  }, 660_000);

  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  it('runs every ceiling and every scenario to completion', () => {
    const byName = new Map(report.items.map((item) => [item.name, item]));
    for (const name of [...CEILINGS, ...SCENARIOS]) {
      expect({ name, status: byName.get(name)?.status }).toEqual({ name, status: 'ok' });
    }
    for (const figure of report.figures) {
      expect({ key: figure.key, finite: Number.isFinite(figure.value) }).toEqual({
        key: figure.key,
        finite: true,
      });
    }
  });

  it('sets each scenario figure beside the ceiling measured in the same run, as a ratio', () => {
    const valueOf = new Map(report.figures.map((figure) => [figure.key, figure.value]));
    const compared = report.figures.filter((figure) => figure.ceiling?.length);
    expect(compared.map((figure) => figure.scenario)).toEqual(expect.arrayContaining(SCENARIOS));
    for (const figure of compared) {
      const ceiling = figure.ceiling!.reduce((total, key) => total + valueOf.get(key)!, 0);
      expect(figure.ceilingValue).toBeCloseTo(ceiling, 9);
      expect(figure.ratio).toBeCloseTo(figure.value! / ceiling, 9);
    }
    const ingest = report.figures.find((figure) => figure.key === 'ingest.msgs_per_s')!;
    expect(ingest.ceiling).toEqual(['raw-insert.msgs_per_s']);
    expect(ingest.ratioTarget).toEqual({ op: '>=', value: 0.7 });
  });

  it('states the issue’s target beside each scenario figure: a ratio to its ceiling where it has one', () => {
    const targetsOf = (pick: (figure: ResolvedFigure) => Target | undefined) =>
      Object.fromEntries(
        report.figures.flatMap((figure) => {
          const target = pick(figure);
          return target ? [[figure.key, `${target.op} ${target.value}`]] : [];
        }),
      );
    expect(targetsOf((figure) => figure.ratioTarget)).toEqual({
      'ingest.msgs_per_s': '>= 0.7',
      'ephemeral-send.msgs_per_s': '>= 2',
      'accept-latency.p99': '<= 2',
      'accept-latency.api_cpu_ms': '<= 2',
      'live-latency.p50': '<= 1.5',
      'live-latency.p99': '<= 2',
      'catch-up.msgs_per_s': '>= 0.5',
      'fanout-1000.all_delivered_ms': '<= 2',
      'purge.seconds': '<= 1.5',
      'idle-sockets.kib_per_socket': '<= 1.3',
    });
    // Absolute where the comparison is not a ceiling of this run.
    expect(targetsOf((figure) => figure.target)).toEqual({
      'ack-cost.foreign_p99': '<= 50',
      'ack-cost.own_p99': '<= 50',
      'live-latency.p50_low_rate': '<= 1',
      'live-latency.p99_low_rate': '<= 5',
      'catch-up.first_frame_ms': '<= 50',
      'purge.ingest_p99_ratio': '<= 1.2',
    });
  });

  it('says where the CPU went in the scenarios that measure a server under load', () => {
    for (const name of ['ingest', 'accept-latency', 'catch-up']) {
      const cores = report.items.find((item) => item.name === name)!.details.cores as Record<
        string,
        number
      >;
      expect(Object.keys(cores)).toEqual(expect.arrayContaining(['api', 'postgres', 'load']));
    }
  });

  it('receives every message through the SDK, decrypted to what was sent', () => {
    const details = (name: string) => report.items.find((item) => item.name === name)!.details;
    const live = details('live-latency');
    // The first stream error is in the compared object, so a failure shows what it was.
    expect({
      streamErrors: live.streamErrors,
      firstStreamError: live.firstStreamError ?? null,
    }).toEqual({ streamErrors: 0, firstStreamError: null });
    expect(live.framesMeasured).toBe(live.framesExpected);
    const catchUp = details('catch-up');
    expect(catchUp).toMatchObject({ streamErrors: 0, duplicates: 0 });
    expect(catchUp.received).toBe(catchUp.queued);
    const fanout = details('fanout-1000');
    expect(fanout.streamErrors).toBe(0);
    for (const round of fanout.rounds as { delivered: number }[])
      expect(round.delivered).toBe(fanout.devices);
  });

  it('sends through the SDK, which learns each target’s devices from a 409, and the API never fails a send', () => {
    const answers = report.sendAnswers!;
    expect(answers['201']).toBeGreaterThan(0);
    // Each sender's first send to a target goes without keys and is told the devices.
    expect(answers['409']).toBeGreaterThan(0);
    expect(Object.keys(answers).filter((status) => status >= '500')).toEqual([]);
  });

  it('has the purge done by the worker process, as a job', () => {
    const purge = report.items.find((item) => item.name === 'purge')!;
    expect(purge.details).toMatchObject({ jobState: 'completed', remaining: 0 });
  });

  it('prints the figures as JSON and as a Markdown table, with progress on stderr', () => {
    const table = run.stdout.slice(run.stdout.lastIndexOf('\n\n| scenario |') + 2);
    const rows = table.trim().split('\n');
    expect(rows[0]).toBe(
      '| scenario | figure | value | target | met | raw ceiling | ratio | note |',
    );
    expect(rows).toHaveLength(report.figures.length + 2);
    for (const name of [...CEILINGS, ...SCENARIOS]) {
      expect(run.stderr).toMatch(new RegExp(`\\[bench +[\\d.]+s\\] ${name}: done in`));
    }
  });

  it('writes the report with its machine, and the live-latency chart', () => {
    const files = readdirSync(resultsDir);
    const base = files.find((file) => file.endsWith('.json'))!.replace(/\.json$/, '');
    expect(files).toEqual(
      expect.arrayContaining([`${base}.json`, `${base}.md`, `${base}-live-latency.svg`]),
    );
    expect(JSON.parse(readFileSync(path.join(resultsDir, `${base}.json`), 'utf8'))).toEqual(report);
    const markdown = readFileSync(path.join(resultsDir, `${base}.md`), 'utf8');
    expect(markdown).toContain(`- commit: ${report.machine.commit}`);
    expect(markdown).toMatch(/^- PostgreSQL \d+.*synchronous_commit=/m);
    expect(markdown).toMatch(/^- Redis \d+/m);
    expect(markdown).toMatch(/^- host: \d+ cores/m);
    expect(markdown).toContain(`- POST /v1/messages answered: 201 × ${report.sendAnswers!['201']}`);
    const svg = readFileSync(path.join(resultsDir, `${base}-live-latency.svg`), 'utf8');
    expect(svg.trim()).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/);
    expect(svg).toContain('accepted→frame');
  });

  it('removes the database and the Redis keys it made', async () => {
    const { DATABASE_URL, REDIS_URL } = loadEnv(process.env);
    const admin = new pg.Client({ connectionString: withDatabase(DATABASE_URL, 'postgres') });
    await admin.connect();
    const redis = new Redis(REDIS_URL);
    try {
      const databases = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        `bench_${report.runId}`,
      ]);
      expect(databases.rowCount).toBe(0);
      expect(await redis.keys(`bench_${report.runId}*`)).toEqual([]);
    } finally {
      await admin.end();
      redis.disconnect();
    }
  });
});

describe('the benchmark harness, one scenario (npm run bench -- --quick ingest)', () => {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  it('runs that scenario and the ceiling it is compared with, nothing else', async () => {
    const run = await runHarness(['--quick', '--budget=300', 'ingest'], {
      BENCH_RESULTS_DIR: resultsDir,
    });
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    const report = parseReport(run.stdout);
    expect(report.items.map((item) => [item.name, item.status])).toEqual([
      ['raw-insert', 'ok'],
      ['ingest', 'ok'],
    ]);
  }, 360_000);
});

function runHarness(args: string[], env: Record<string, string>): Promise<HarnessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['bench/run.sh', ...args], {
      env: { ...process.env, ...env, BENCH_SKIP_BUILD: '1', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// stdout is the JSON report, a blank line, then the Markdown table.
function parseReport(stdout: string): RunReport {
  return JSON.parse(stdout.slice(0, stdout.lastIndexOf('\n\n| scenario |'))) as RunReport;
}
