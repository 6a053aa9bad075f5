// npm run soak -- [--minutes 30] [--rate 500] [--warmup-minutes N]
//
// The soak (RELIABILITY.md): the fault suite's processes and load, with no
// fault, for a long while: streaming phones, and laptops that sleep and wake
// in turn to sync. Every 10 s it samples each server process's RSS and
// event-loop delay (from its /metrics), Redis's memory, the queues' depths
// and PostgreSQL's table sizes. It passes when none of them grows by more
// than 10% after the warm-up, and every accepted delivery arrived. Writes
// the samples as JSON and a chart as SVG.
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { SendOutcome } from '../load/tasks/fault-senders.js';
import { epochMs, sleep } from '../lib/clock.js';
import { progress } from '../lib/progress.js';
import { LoadProcess, startedProcesses } from '../lib/rpc.js';
import { freePort } from '../lib/server.js';
import {
  type Cluster,
  connectLoad,
  setUpLoad,
  startCluster,
  stopCluster,
} from '../faults/cluster.js';
import { PrivatePostgres, PrivateRedis } from '../faults/services.js';
import { type ChartPanel, soakChartSvg } from './chart.js';
import { growthOf, type Point } from './growth.js';

const program = new Command('soak')
  .option('--minutes <n>', 'minutes of load', '30')
  .option('--rate <n>', 'sends per second', '500')
  .option('--ttl-seconds <n>', "the messages' time to live", '240')
  .option(
    '--warmup-minutes <n>',
    'minutes left out of the verdict (default: a fifth of the run, and at least the TTL and 4 more)',
  )
  .parse();
const options = program.opts<{
  minutes: string;
  rate: string;
  ttlSeconds: string;
  warmupMinutes?: string;
}>();
const minutes = Number(options.minutes);
const rate = Number(options.rate);
// Messages expire and are purged within the run, so that the tables can
// reach the size at which they stay (each side row lives until its
// message's expiry: with the default week, a soak would only see growth).
const ttlSeconds = Number(options.ttlSeconds);
const warmupMinutes = Number(options.warmupMinutes ?? Math.max(ttlSeconds / 60 + 4, minutes / 5));
if (!(minutes > 0 && rate > 0 && ttlSeconds > 0 && warmupMinutes >= 0))
  program.error('bad --minutes, --rate, --ttl-seconds or --warmup-minutes');

const SAMPLE_EVERY_MS = 10_000;
// The verdict compares the mean of a minute after the warm-up with the last minute's.
const WINDOW_S = 60;
// Each laptop wakes to sync once in this long.
const LAPTOP_SYNC_EVERY_MS = 60_000;
const SEND_DEADLINE_MS = 30_000;
const SETTLE_MS = 120_000;

const UNITS: Record<string, string> = {
  RSS: 'MiB',
  'event-loop delay p99': 'ms',
  'queued jobs': 'jobs',
  'PostgreSQL tables': 'MiB',
  'accepted → received (phones)': 'ms',
};
// What the verdict covers, with the slack a near-zero quantity may move by.
const GATED: { panel: string; series?: string; slack: number }[] = [
  { panel: 'RSS', slack: 0 },
  { panel: 'event-loop delay p99', slack: 20 },
  { panel: 'queued jobs', slack: 200 },
  { panel: 'PostgreSQL tables', series: 'all tables', slack: 0 },
];

const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.resolve('bench', 'results');
mkdirSync(resultsDir, { recursive: true });

type Role = 'send-api' | 'recipient-api' | 'worker';
const ROLES: Role[] = ['send-api', 'recipient-api', 'worker'];

/** Every sampled quantity: panel → series → points. */
const samples = new Map<string, Map<string, Point[]>>();
const record = (panel: string, series: string, t: number, value: number | undefined) => {
  if (value === undefined || !Number.isFinite(value)) return;
  let panelSeries = samples.get(panel);
  if (!panelSeries) samples.set(panel, (panelSeries = new Map()));
  let points = panelSeries.get(series);
  if (!points) panelSeries.set(series, (points = []));
  points.push({ t, value });
};

const redis = await PrivateRedis.start();
const postgres = await PrivatePostgres.start();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    for (const child of startedProcesses) child.kill('SIGKILL');
    void Promise.allSettled([redis.kill(), postgres.stop()]).then(() => process.exit(130));
  });

const metricsPorts = Object.fromEntries(
  await Promise.all(ROLES.map(async (role) => [role, await freePort()] as const)),
) as Record<Role, number>;
const runId = `${Math.floor(Date.now() / 1000)}_soak`;
let cluster: Cluster | undefined;
let verdictFailed = false;
try {
  cluster = await startCluster({ redis, postgres }, runId, resultsDir, (role) => ({
    METRICS_PORT: String(metricsPorts[role]),
    // Every expired message is purged as it would be in production.
    PURGE_INTERVAL_SECONDS: '60',
  }));
  verdictFailed = await soak(cluster);
} finally {
  if (cluster) await stopCluster(cluster);
  await redis.kill();
  await postgres.stop();
}
process.exit(verdictFailed ? 1 : 0);

async function soak(cluster: Cluster): Promise<boolean> {
  const setUp = await setUpLoad(cluster);
  const { parties, cycle } = setUp;
  const [sending, phones, laptops] = await Promise.all([
    LoadProcess.start('fault-senders'),
    LoadProcess.start('fault-phones'),
    LoadProcess.start('soak-laptops'),
  ]);
  const database = new pg.Client({ connectionString: cluster.databaseUrl });
  await database.connect();
  try {
    const recipientUrl = cluster.recipientApi.baseUrl;
    await connectLoad(cluster, setUp, { sending, phones }, { keepIds: false });
    await laptops.call('start', {
      url: recipientUrl,
      identities: parties.map((party) => party.laptop.identity),
      everyMs: LAPTOP_SYNC_EVERY_MS,
    });

    const count = Math.round(rate * minutes * 60);
    progress(
      `soak: ${rate} msgs/s for ${minutes} min (${count} sends), warm-up ${warmupMinutes} min`,
    );
    const startedAt = epochMs();
    let loadDone = false;
    const load = sending
      .call<SendOutcome>(
        'run',
        { cycle, count, rate, deadlineMs: SEND_DEADLINE_MS, keepIds: false, ttlSeconds },
        (minutes * 60 + 300) * 1000,
      )
      .finally(() => (loadDone = true));
    const pids = Object.fromEntries(
      ROLES.map((role) => [role, processOf(cluster, role).process.child.pid]),
    );
    for (let next = startedAt + SAMPLE_EVERY_MS; !loadDone; next += SAMPLE_EVERY_MS) {
      await Promise.race([sleep(Math.max(0, next - epochMs())), load.catch(() => undefined)]);
      if (loadDone) break;
      const t = Math.round((epochMs() - startedAt) / 1000);
      await sample(t, cluster, database, phones);
      if (t % 60 < 10)
        progress(`soak: ${Math.round(t / 60)} min, ${JSON.stringify(await sending.call('tally'))}`);
    }
    const outcome = await load;
    progress(`soak: load done, ${outcome.acceptedCount} accepted; waiting for the deliveries`);

    // Every accepted delivery must arrive: the phones live, the laptops on their last sync.
    const phoneDeliveries = expectedPerSend(cycle, new Set(parties.map((p) => p.phone.deviceId)));
    const expectedPhones = Math.round(outcome.acceptedCount * phoneDeliveries);
    const settleBy = Date.now() + SETTLE_MS;
    let phonesReceived = 0;
    while (Date.now() < settleBy) {
      phonesReceived = (await phones.call<{ received: number }>('count')).received;
      if (phonesReceived >= expectedPhones) break;
      await sleep(500);
    }
    const { synced } = await laptops.call<{ synced: number }>('finish', {}, SETTLE_MS);
    const laptopDeliveries = expectedPerSend(cycle, new Set(parties.map((p) => p.laptop.deviceId)));
    const expectedLaptops = Math.round(outcome.acceptedCount * laptopDeliveries);
    const acceptedEvery = outcome.acceptedCount === count;

    const verdicts = verdictsOf();
    const failed = verdicts.filter((verdict) => !verdict.passed);
    const summary = {
      runId,
      rate,
      minutes,
      ttlSeconds,
      warmupMinutes,
      pids,
      sent: count,
      accepted: outcome.acceptedCount,
      neverAccepted: outcome.neverAccepted,
      errorsByStatus: outcome.errorsByStatus,
      connectionErrors: outcome.connectionErrors,
      phones: { expected: expectedPhones, received: phonesReceived },
      laptops: { expected: expectedLaptops, received: synced },
      verdicts,
      samples: Object.fromEntries(
        [...samples].map(([panel, series]) => [panel, Object.fromEntries(series)]),
      ),
    };
    const stamp = new Date().toISOString().replaceAll(':', '-');
    const jsonFile = path.join(resultsDir, `soak-${stamp}.json`);
    writeFileSync(jsonFile, JSON.stringify(summary, null, 2));
    const svgFile = path.join(resultsDir, `soak-${stamp}.svg`);
    writeFileSync(svgFile, await chart());
    for (const verdict of verdicts)
      console.log(
        `${verdict.passed ? 'ok  ' : 'FAIL'} ${verdict.panel} / ${verdict.series}: ` +
          `${verdict.afterWarmup.toFixed(1)} → ${verdict.atEnd.toFixed(1)} ${verdict.unit} ` +
          `(${(verdict.growth * 100).toFixed(1)}%)`,
      );
    console.log(
      `sent ${count}, accepted ${outcome.acceptedCount}, never accepted ${outcome.neverAccepted}; ` +
        `phones received ${phonesReceived} of ${expectedPhones}, laptops ${synced} of ${expectedLaptops}`,
    );
    progress(`wrote ${jsonFile} and ${svgFile}`);
    // Dedupe is per stream, so a reconnect can add a few; fewer than expected is a loss.
    const lost = phonesReceived < expectedPhones || synced < expectedLaptops;
    return failed.length > 0 || lost || !acceptedEvery;
  } finally {
    await database.end();
    await Promise.all([sending.stop(), phones.stop(), laptops.stop()]);
  }
}

function processOf(cluster: Cluster, role: Role) {
  return role === 'send-api'
    ? cluster.sendApi
    : role === 'recipient-api'
      ? cluster.recipientApi
      : cluster.worker;
}

/** Deliveries per send to the given devices, averaged over the send cycle. */
function expectedPerSend(cycle: { deviceIds: string[] }[], devices: Set<string>): number {
  const total = cycle.reduce(
    (sum, send) => sum + send.deviceIds.filter((id) => devices.has(id)).length,
    0,
  );
  return total / cycle.length;
}

async function sample(t: number, cluster: Cluster, database: pg.Client, phones: LoadProcess) {
  const scrapes = await Promise.all(
    ROLES.map(async (role) => {
      const response = await fetch(`http://127.0.0.1:${metricsPorts[role]}/metrics`).catch(
        () => undefined,
      );
      return [role, response?.ok ? await response.text() : ''] as const;
    }),
  );
  for (const [role, text] of scrapes) {
    record('RSS', role, t, metric(text, 'supernode_process_resident_memory_bytes') / 2 ** 20);
    record(
      'event-loop delay p99',
      role,
      t,
      metric(text, 'supernode_nodejs_eventloop_lag_p99_seconds') * 1000,
    );
  }
  // Any process reads the same Redis: the worker's scrape has the queues too.
  const workerText = scrapes.find(([role]) => role === 'worker')?.[1] ?? '';
  for (const queue of ['fanout', 'push', 'retention']) {
    let jobs = 0;
    for (const state of ['waiting', 'active', 'delayed', 'prioritized'])
      jobs += metric(workerText, `supernode_queue_jobs{queue="${queue}",state="${state}"}`) || 0;
    record('queued jobs', queue, t, jobs);
  }
  const info = String(await cluster.redis.command('INFO', 'memory').catch(() => ''));
  record('RSS', 'redis', t, Number(/used_memory_rss:(\d+)/.exec(info)?.[1]) / 2 ** 20);
  const tables = await database.query<{ name: string; bytes: string }>(
    `SELECT coalesce(pg_partition_root(c.oid), c.oid)::regclass::text AS name,
            sum(pg_total_relation_size(c.oid)) AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
      GROUP BY 1`,
  );
  let total = 0;
  for (const row of tables.rows) {
    total += Number(row.bytes);
    // Small tables (accounts, devices) would crowd the chart: only those past 1 MB.
    if (Number(row.bytes) > 2 ** 20)
      record('PostgreSQL tables', row.name, t, Number(row.bytes) / 2 ** 20);
  }
  record('PostgreSQL tables', 'all tables', t, total / 2 ** 20);
  const window = await phones.call<{ p50Ms: number | null; p99Ms: number | null }>('latencyWindow');
  record('accepted → received (phones)', 'p50', t, window.p50Ms ?? undefined);
  record('accepted → received (phones)', 'p99', t, window.p99Ms ?? undefined);
}

/** The value of a Prometheus sample line `name value` or `name{labels} value` (NaN when absent). */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

function verdictsOf() {
  return GATED.flatMap(({ panel, series, slack }) =>
    [...(samples.get(panel) ?? new Map<string, Point[]>())]
      .filter(([name]) => series === undefined || name === series)
      .flatMap(([name, points]) => {
        const growth = growthOf(points, { warmupS: warmupMinutes * 60, windowS: WINDOW_S, slack });
        return growth ? [{ panel, series: name, unit: UNITS[panel], ...growth }] : [];
      }),
  );
}

function chart(): Promise<string> {
  const panels: ChartPanel[] = [...samples].map(([panel, series]) => ({
    title: panel,
    unit: UNITS[panel],
    series: Object.fromEntries(
      [...series].map(([name, points]) => [
        name,
        points.map((point) => ({ minute: point.t / 60, value: point.value })),
      ]),
    ),
  }));
  return soakChartSvg(
    `Soak: ${rate} msgs/s for ${minutes} min (dashed: end of the warm-up)`,
    panels,
    warmupMinutes,
  );
}
