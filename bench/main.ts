import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rawBullmq } from './ceilings/raw-bullmq.js';
import { rawCatchup } from './ceilings/raw-catchup.js';
import { rawFrames } from './ceilings/raw-frames.js';
import { rawIdle } from './ceilings/raw-idle.js';
import { rawHttp } from './ceilings/raw-http.js';
import { rawInsert } from './ceilings/raw-insert.js';
import { rawPurge } from './ceilings/raw-purge.js';
import { monoMs } from './lib/clock.js';
import {
  type BenchItem,
  type Context,
  ItemProcesses,
  settingsFor,
  type Settings,
  Skip,
} from './lib/context.js';
import { markdownReport, markdownTable } from './lib/format.js';
import { type HarnessFlags, parseHarnessFlags } from './lib/harness-flags.js';
import { KeepAliveHttp } from './lib/http.js';
import {
  createBenchDatabase,
  deleteRedisPrefix,
  dropDatabase,
  dropStaleBenchDatabases,
  machineInfo,
  withDatabase,
} from './lib/provision.js';
import { elapsedSeconds, progress } from './lib/progress.js';
import { type ItemResult, resolveFigures, type RunReport } from './lib/results.js';
import { startedProcesses } from './lib/rpc.js';
import { BENCH_SERVER_SETTINGS, freePort, type ServerProcess, startServer } from './lib/server.js';
import { latencyChartSvg } from './lib/svg.js';
import { acceptLatency } from './scenarios/accept-latency.js';
import { ackCost } from './scenarios/ack-cost.js';
import { catchUp } from './scenarios/catch-up.js';
import { fanout } from './scenarios/fanout.js';
import { idleSockets } from './scenarios/idle-sockets.js';
import { ephemeralSend, ingest } from './scenarios/ingest.js';
import { liveLatency } from './scenarios/live-latency.js';
import { purge } from './scenarios/purge.js';
import { PUSH_DOUBLE, pushLatency } from './scenarios/push-latency.js';
import { PushDouble } from '../test/support/push-double.js';
import { serverWarmUp } from './scenarios/server-warm-up.js';
import { provisionAccount, probeMessaging } from './sdk-contract.js';
import { sendAnswers } from './lib/server-answers.js';

// Run order: each ceiling right before the scenarios compared with it, so a
// ratio compares two figures taken on the same machine minutes apart at most.
const ITEMS: BenchItem[] = [
  rawInsert,
  ingest,
  ephemeralSend,
  rawHttp,
  acceptLatency,
  ackCost,
  rawBullmq,
  rawFrames,
  liveLatency,
  rawCatchup,
  catchUp,
  fanout,
  rawPurge,
  purge,
  rawIdle,
  idleSockets,
  pushLatency,
];

const USAGE = `usage: npm run bench -- [--quick] [--no-ceilings] [--keep] [--budget=SECONDS] [name...]

names: ${ITEMS.map((item) => item.name).join(', ')}
       or the groups "ceilings" and "scenarios" (default: everything)
--quick        small sizes and short runs (a smoke run, about a minute)
--no-ceilings  do not add the ceilings a named scenario is compared with
--keep         keep the database and Redis keys (for looking into a run)
--budget=S     the whole run's time limit in seconds (default 900, quick 120)
--concurrency=N, --rate=N   override the in-flight count and the fixed rate
--api-processes=N           N API processes behind the port (default 1)
--purge-rows=N              expired messages the purge scenario seeds (default 1,000,000, quick 20,000)`;

interface Options {
  settings: Settings;
  items: BenchItem[];
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  let flags: HarnessFlags;
  try {
    flags = parseHarnessFlags(argv);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (flags.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const { names, quick, withCeilings, keep, overrides } = flags;
  const wanted = new Set<string>();
  for (const name of names.length ? names : ['ceilings', 'scenarios']) {
    if (name === 'ceilings' || name === 'scenarios') {
      const kind = name === 'ceilings' ? 'ceiling' : 'scenario';
      for (const item of ITEMS) if (item.kind === kind) wanted.add(item.name);
      continue;
    }
    const item = ITEMS.find((candidate) => candidate.name === name);
    if (!item) throw new Error(`unknown scenario "${name}"\n${USAGE}`);
    wanted.add(item.name);
    if (withCeilings) for (const ceiling of item.ceilings ?? []) wanted.add(ceiling);
  }
  const settings = settingsFor(quick, overrides);
  const items = ITEMS.filter((item) => wanted.has(item.name));
  const firstOnServer = items.findIndex(
    (item) => item.needsServer && item.measuresSharedServer !== false,
  );
  if (settings.serverWarmupMs > 0 && firstOnServer >= 0)
    items.splice(firstOnServer, 0, serverWarmUp);
  return { settings, items, keep };
}

/** Ends every process the run started, by its pid (load processes and servers). */
async function killStarted(): Promise<void> {
  const children = [...startedProcesses];
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = Date.now() + 5000;
  while (children.some((child) => child.exitCode === null && child.signalCode === null)) {
    if (Date.now() > deadline) {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Cores used by processes outside the run (other users, builds, tests) above
// which a figure is marked as taken on a busy machine.
const OTHER_CORES_WARNING = 0.2;

/** The largest `cores.other` found anywhere in an item's details. */
function busiestOther(details: unknown): number {
  if (!details || typeof details !== 'object') return 0;
  let most = 0;
  for (const [key, value] of Object.entries(details)) {
    if (key === 'cores' && value && typeof value === 'object' && 'other' in value) {
      most = Math.max(most, Number((value as { other: number }).other) || 0);
    } else {
      most = Math.max(most, busiestOther(value));
    }
  }
  return most;
}

async function runItem(context: Context, item: BenchItem, deadline: number): Promise<ItemResult> {
  const result: ItemResult = {
    name: item.name,
    kind: item.kind,
    description: item.description,
    targets: item.targets,
    status: 'ok',
    seconds: 0,
    figures: [],
    details: {},
  };
  const started = monoMs();
  const remaining = (deadline - Date.now()) / 1000;
  const cap = Math.min(item.maxSeconds(context.settings), remaining);
  const cutByBudget = cap < item.maxSeconds(context.settings);
  if (item.needsServer && !context.server) {
    result.status = 'skipped';
    result.reason = 'the server did not start';
    return result;
  }
  const dead = context.server?.api.died ?? context.server?.worker.died;
  if (item.needsServer && dead) {
    result.status = 'skipped';
    result.reason = dead;
    progress(`${item.name}: skipped (${dead})`);
    return result;
  }
  const lacking = (item.needs ?? []).filter((need) => context.availability?.[need] === false);
  if (lacking.length) {
    result.status = 'skipped';
    result.reason = `not available: ${context.availability?.detail}`;
    progress(`${item.name}: skipped (${result.reason})`);
    return result;
  }
  if (cap < 10) {
    result.status = 'skipped';
    result.reason = `the time budget (${context.settings.budgetSeconds} s) ran out`;
    progress(`${item.name}: skipped (time budget)`);
    return result;
  }
  progress(`${item.name}: ${item.description}`);
  const processes = new ItemProcesses();
  const itemContext: Context = {
    ...context,
    spawn: (...args) => processes.spawn(...args),
    cpuGroups: () => ({
      api: context.server?.api.pids ?? [],
      worker: context.server?.worker.pids ?? [],
      load: processes.started.map((load) => load.pid),
      harness: [process.pid],
    }),
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      item.run(itemContext, result),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              cutByBudget
                ? // Cut short by the run's budget, not stuck: skipped, not failed.
                  new Skip(
                    `the run's time budget (${context.settings.budgetSeconds} s) ran out ${cap.toFixed(0)} s into it`,
                  )
                : new Error(`timed out after ${cap.toFixed(0)} s`),
            ),
          cap * 1000,
        );
      }),
    ]);
  } catch (error) {
    result.status = error instanceof Skip ? 'skipped' : 'failed';
    result.reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    progress(`${item.name}: ${result.status}: ${result.reason}`);
    if (!(error instanceof Skip) && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
  } finally {
    clearTimeout(timer);
    await processes.stopAll();
  }
  result.seconds = (monoMs() - started) / 1000;
  const died = context.server?.api.died ?? context.server?.worker.died;
  if (item.needsServer && died && result.status === 'ok') {
    result.status = 'failed';
    result.reason = died;
  }
  const others = busiestOther(result.details);
  if (others > OTHER_CORES_WARNING) {
    // Someone else's work shared the cores: say so beside the figures.
    const warning = `other processes used ${others.toFixed(2)} cores meanwhile`;
    for (const figure of result.figures) {
      figure.note = figure.note ? `${figure.note}; ${warning}` : warning;
    }
    progress(`${item.name}: warning: ${warning}`);
  }
  if (result.status === 'ok') {
    const summary = result.figures
      .map(
        (figure) =>
          `${figure.label}: ${figure.value === null ? '—' : figure.value.toFixed(2)} ${figure.unit}`,
      )
      .join('; ');
    progress(
      `${item.name}: done in ${result.seconds.toFixed(1)} s${summary ? ` — ${summary}` : ''}`,
    );
  }
  return result;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const { settings } = options;
  const startedAt = Date.now();
  const deadline = startedAt + settings.budgetSeconds * 1000;
  const runId = `${Math.floor(startedAt / 1000)}_${randomBytes(3).toString('hex')}`;
  const baseDatabaseUrl =
    process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/supernode';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const databaseUrl = withDatabase(baseDatabaseUrl, `bench_${runId}`);
  const redisPrefix = `bench_${runId}`;
  // BENCH_RESULTS_DIR: elsewhere than bench/results (the harness's own test).
  const resultsDir = path.resolve(
    process.env.BENCH_RESULTS_DIR ?? path.join(import.meta.dirname, 'results'),
  );
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date(startedAt)
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');

  const servers: { api?: ServerProcess; worker?: ServerProcess; pushDouble?: PushDouble } = {};
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    progress('teardown: stopping processes');
    await Promise.all([servers.api?.stop(), servers.worker?.stop()]);
    await servers.pushDouble?.close();
    await killStarted();
    if (options.keep) {
      progress(`teardown: kept database ${databaseUrl} and Redis prefix ${redisPrefix}`);
      return;
    }
    await dropDatabase(databaseUrl).catch((error: Error) =>
      progress(`teardown: could not drop the database: ${error.message}`),
    );
    const keys = await deleteRedisPrefix(redisUrl, redisPrefix).catch(() => 0);
    progress(`teardown: dropped bench_${runId}, deleted ${keys} Redis keys`);
  };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      progress(`${signal}: tearing down`);
      void teardown().finally(() => process.exit(130));
    });
  }
  // A run stuck past its budget is ended, results or not.
  const hardStop = setTimeout(
    () => {
      progress(`the run passed its budget of ${settings.budgetSeconds} s by 60 s: stopping`);
      void teardown().finally(() => process.exit(2));
    },
    (settings.budgetSeconds + 60) * 1000,
  );
  hardStop.unref();

  progress(
    `run ${runId} (${settings.quick ? 'quick' : 'full'}): ${options.items.map((item) => item.name).join(', ')}`,
  );
  const stale = await dropStaleBenchDatabases(baseDatabaseUrl);
  if (stale.length) progress(`dropped databases of killed runs: ${stale.join(', ')}`);
  const machine = await machineInfo(baseDatabaseUrl, redisUrl);
  progress(
    `machine: ${machine.host.cpus} cores, ${machine.host.memoryGiB} GiB; PostgreSQL ${machine.postgres.version}; Redis ${machine.redis.version}; commit ${machine.commit}`,
  );
  const openFilesHard = machine.limits.openFilesHard;
  const context: Context = {
    settings,
    runId,
    databaseUrl,
    redisUrl,
    redisPrefix,
    resultsDir,
    openFilesHard: Number.isFinite(openFilesHard) ? openFilesHard : 1024,
    shared: new Map(),
    spawn: () => Promise.reject(new Error('spawn outside an item')),
    cpuGroups: () => ({}),
  };

  const results: ItemResult[] = [];
  let sent: Record<string, number> | undefined;
  try {
    progress(`provisioning database bench_${runId} (migrations) and Redis prefix ${redisPrefix}`);
    await createBenchDatabase(databaseUrl);
    if (options.items.some((item) => item.needsServer)) {
      try {
        const port = await freePort();
        // A Web Push service on loopback (push-latency): the server trusts its CA.
        const pushDouble = await PushDouble.start();
        servers.pushDouble = pushDouble;
        context.shared.set(PUSH_DOUBLE, pushDouble);
        const env = {
          DATABASE_URL: databaseUrl,
          REDIS_URL: redisUrl,
          REDIS_PREFIX: redisPrefix,
          NODE_EXTRA_CA_CERTS: pushDouble.caPath,
          PUSH_ALLOWED_HOSTS: 'localhost',
        };
        const logBase = path.join(resultsDir, `${stamp}`);
        progress(
          `starting the server: ROLE=api${settings.apiProcesses > 1 ? ` (${settings.apiProcesses} processes behind one port)` : ''} and ROLE=worker (dist/src/main.js)`,
        );
        const [api, worker] = await Promise.all([
          startServer('api', env, port, `${logBase}-api.log`, settings.apiProcesses),
          startServer('worker', env, 0, `${logBase}-worker.log`),
        ]);
        const baseUrl = `http://127.0.0.1:${port}`;
        context.server = { baseUrl, api, worker };
        Object.assign(servers, { api, worker });
        progress(`server ready at ${baseUrl} (api pid ${api.pid}, worker pid ${worker.pid})`);
        const [probe] = await provisionAccount(baseUrl, `b${runId.split('_')[1]}-probe`, 1);
        const http = new KeepAliveHttp(baseUrl, 2);
        context.availability = await probeMessaging(http, baseUrl, probe);
        http.close();
        progress(`server has: ${context.availability.detail}`);
      } catch (error) {
        progress(`the server did not start: ${(error as Error).message}`);
      }
    }
    for (const item of options.items) {
      if (interrupted) break;
      results.push(await runItem(context, item, deadline));
    }
    if (context.server) {
      sent = await sendAnswers(context.server.baseUrl).catch((error: Error) => {
        progress(`could not read the API's /metrics: ${error.message}`);
        return undefined;
      });
    }
  } finally {
    clearTimeout(hardStop);
    await teardown();
  }

  const report: RunReport = {
    runId,
    mode: settings.quick ? 'quick' : 'full',
    machine,
    settings: { ...settings, serverEnvironment: BENCH_SERVER_SETTINGS },
    seconds: elapsedSeconds(),
    items: results.map(({ series: _series, ...rest }) => rest),
    figures: resolveFigures(results),
    sendAnswers: sent,
  };
  const json = JSON.stringify(report, null, 2);
  const markdown = markdownReport(report);
  const live = results.find((item) => item.name === 'live-latency' && item.status === 'ok');
  const charted = live ?? results.find((item) => item.series?.length && item.status === 'ok');
  const chartSeries = live
    ? (live.series ?? [])
    : results.flatMap((item) => (item.status === 'ok' ? (item.series ?? []) : []));
  const svg = latencyChartSvg(
    live
      ? `Live latency at ${settings.latencyRate} msgs/s (run ${runId}, commit ${machine.commit})`
      : `Raw ceiling latencies (live-latency did not run; run ${runId})`,
    'latency (ms)',
    charted ? chartSeries : [],
  );
  const base = path.join(resultsDir, stamp);
  writeFileSync(`${base}.json`, `${json}\n`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}-live-latency.svg`, `${svg}\n`);

  process.stdout.write(`${json}\n\n${markdownTable(report.figures)}\n`);
  progress(`wrote ${base}.json, .md and -live-latency.svg (${report.seconds.toFixed(0)} s in all)`);
  return results.some((item) => item.status === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
