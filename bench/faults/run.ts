import pg from 'pg';
import { SupernodeClient } from '@supernode/client';
import type { SendOutcome } from '../load/tasks/fault-senders.js';
import { epochMs, sleep } from '../lib/clock.js';
import { quantile, sortedCopy } from '../lib/latency.js';
import { progress } from '../lib/progress.js';
import { LoadProcess } from '../lib/rpc.js';
import { type Cluster, connectLoad, setUpLoad, startCluster, stopCluster } from './cluster.js';
import type { PrivatePostgres, PrivateRedis } from './services.js';

export interface RunSettings {
  rate: number;
  seconds: number;
  faultAtSeconds: number;
  resultsDir: string;
}

export interface Scenario {
  name: string;
  what: string;
  /** Injects the fault; resolves when it is over (the system may still be recovering). */
  inject(cluster: Cluster): Promise<void>;
}

export interface ScenarioResult {
  scenario: string;
  what: string;
  sent: number;
  accepted: number;
  neverAccepted: number;
  expectedDeliveries: number;
  delivered: number;
  /** Frames of messages a device had already handled, which the SDK dropped (before dedupe). */
  redelivered: number;
  /** Phone connections cut in the middle of a catch-up (cut-mid-catch-up). */
  cutsMidCatchUp: number;
  /** Messages handed to the application twice (after the SDK's dedupe): must be 0. */
  duplicates: number;
  lost: number;
  lostSample: string[];
  errorsByStatus: Record<string, number>;
  connectionErrors: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  baselineP99Ms: number;
  recoverySeconds: number | null;
  faultStartS: number;
  faultEndS: number;
  /** Set when a step of the fault failed (a process that did not come back). */
  faultError?: string;
}

// A send is tried again (same client message id, so stored once) on either
// API process until this long after its first try: then it is "never accepted".
const SEND_DEADLINE_MS = 30_000;
// After the load, how long the recipients may take to receive everything.
const SETTLE_MS = 90_000;

/**
 * One scenario: a fresh database and Redis, two API processes and a worker,
 * load through the SDK at a fixed rate, the fault at `faultAtSeconds`, then
 * the check that every accepted message reached every addressed device once.
 */
export async function runScenario(
  scenario: Scenario,
  services: { redis: PrivateRedis; postgres: PrivatePostgres },
  settings: RunSettings,
): Promise<ScenarioResult> {
  const runId = `${Math.floor(Date.now() / 1000)}_${scenario.name.replaceAll('-', '_')}`;
  const cluster = await startCluster(services, runId, settings.resultsDir);
  try {
    return await drive(scenario, cluster, settings);
  } finally {
    await stopCluster(cluster);
  }
}

async function drive(
  scenario: Scenario,
  cluster: Cluster,
  settings: RunSettings,
): Promise<ScenarioResult> {
  const recipientUrl = cluster.recipientApi.baseUrl;
  const setUp = await setUpLoad(cluster);
  const { parties, cycle } = setUp;
  const count = settings.rate * settings.seconds;

  // The load runs in processes of its own, so that this one keeps the fault's time.
  const [sending, phones] = await Promise.all([
    LoadProcess.start('fault-senders'),
    LoadProcess.start('fault-phones'),
  ]);
  cluster.phones = (method, args, timeoutMs) => phones.call(method, args, timeoutMs);
  try {
    await connectLoad(cluster, setUp, { sending, phones });

    const startedAt = epochMs();
    const secondsSinceStart = () => (epochMs() - startedAt) / 1000;
    const load = sending.call<SendOutcome>(
      'run',
      { cycle, count, rate: settings.rate, deadlineMs: SEND_DEADLINE_MS, keepIds: true },
      (settings.seconds + 120) * 1000,
    );
    await sleep(settings.faultAtSeconds * 1000);
    const faultStartS = secondsSinceStart();
    progress(`${scenario.name}: fault at ${faultStartS.toFixed(1)} s: ${scenario.what}`);
    let faultError: string | undefined;
    try {
      await scenario.inject(cluster);
    } catch (error) {
      // A process that does not come back is a result too, not the end of the run.
      faultError = (error as Error).message;
      progress(`${scenario.name}: a step of the fault failed: ${faultError}`);
    }
    const faultEndS = secondsSinceStart();
    progress(`${scenario.name}: fault over at ${faultEndS.toFixed(1)} s`);
    const outcome = await load;
    progress(
      `${scenario.name}: load done, ${outcome.accepted.length} accepted; waiting for the phones`,
    );
    if (outcome.failures.length) progress(`refused for good: ${outcome.failures.join('; ')}`);

    // The phones get everything live (or on reconnect); the laptops sync now.
    const phoneIds = new Set(parties.map((party) => party.phone.deviceId));
    let phoneExpected = 0;
    for (const [, deviceIds] of outcome.accepted)
      phoneExpected += deviceIds.filter((deviceId) => phoneIds.has(deviceId)).length;
    const settleDeadline = Date.now() + SETTLE_MS;
    while (Date.now() < settleDeadline) {
      const { received } = await phones.call<{ received: number }>('count');
      if (received >= phoneExpected) break;
      await sleep(250);
    }
    const collected = await phones.call<{
      received: [string, string][];
      latencies: [number, number][];
      redelivered: number;
      cutsMidCatchUp: number;
    }>('collect');
    const seen = new Map<string, number>(); // "messageId deviceId" → times
    const saw = (deviceId: string, messageId: string) =>
      seen.set(`${messageId} ${deviceId}`, (seen.get(`${messageId} ${deviceId}`) ?? 0) + 1);
    for (const [deviceId, messageId] of collected.received) saw(deviceId, messageId);
    for (const party of parties) {
      const laptop = await SupernodeClient.fromIdentity(recipientUrl, party.laptop.identity);
      await laptop.sync((message) => void saw(party.laptop.deviceId, message.messageId));
    }

    let expectedDeliveries = 0;
    let delivered = 0;
    let duplicates = 0;
    const lostSample: string[] = [];
    for (const [messageId, deviceIds] of outcome.accepted) {
      for (const deviceId of deviceIds) {
        expectedDeliveries++;
        const times = seen.get(`${messageId} ${deviceId}`) ?? 0;
        if (times > 0) delivered++;
        else if (lostSample.length < 5) lostSample.push(`${messageId} → ${deviceId}`);
        duplicates += Math.max(0, times - 1);
      }
    }
    const latencies = collected.latencies.map(([at, ms]) => ({ at, ms }));
    const faultStart = startedAt + faultStartS * 1000;
    const baseline = sortedCopy(
      Float64Array.from(latencies.filter((sample) => sample.at < faultStart).map((s) => s.ms)),
    );
    const baselineP99Ms = baseline.length ? quantile(baseline, 0.99) : 0;
    const all = sortedCopy(Float64Array.from(latencies.map((sample) => sample.ms)));
    return {
      scenario: scenario.name,
      what: scenario.what,
      sent: count,
      accepted: outcome.accepted.length,
      neverAccepted: outcome.neverAccepted,
      expectedDeliveries,
      delivered,
      redelivered: collected.redelivered,
      cutsMidCatchUp: collected.cutsMidCatchUp,
      duplicates,
      lost: expectedDeliveries - delivered,
      lostSample,
      errorsByStatus: outcome.errorsByStatus,
      connectionErrors: outcome.connectionErrors,
      latencyP99Ms: all.length ? quantile(all, 0.99) : 0,
      latencyMaxMs: all.length ? all[all.length - 1] : 0,
      baselineP99Ms,
      recoverySeconds: recoveryAfter(latencies, startedAt + faultEndS * 1000, baselineP99Ms),
      faultStartS,
      faultEndS,
      faultError,
    };
  } finally {
    await Promise.all([sending.stop(), phones.stop()]);
  }
}

/**
 * Seconds from the fault's end until a whole second of deliveries has its
 * p99 under the baseline's again (null: not within the run).
 */
function recoveryAfter(
  latencies: { at: number; ms: number }[],
  faultEnd: number,
  baselineP99Ms: number,
): number | null {
  const buckets = new Map<number, number[]>();
  for (const sample of latencies) {
    if (sample.at < faultEnd) continue;
    const second = Math.floor((sample.at - faultEnd) / 1000);
    let bucket = buckets.get(second);
    if (!bucket) buckets.set(second, (bucket = []));
    bucket.push(sample.ms);
  }
  for (const second of [...buckets.keys()].sort((a, b) => a - b)) {
    const sorted = sortedCopy(Float64Array.from(buckets.get(second)!));
    if (quantile(sorted, 0.99) <= Math.max(baselineP99Ms, 1)) return second;
  }
  return null;
}

/** Holds an ACCESS EXCLUSIVE lock on a hot table for `ms` (PostgreSQL "slow"). */
export async function holdLock(databaseUrl: string, table: string, ms: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    await sleep(ms);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}
