import path from 'node:path';
import { FD_RESERVE, idleSocketCount, loopbackAddress } from '../ceilings/raw-idle.js';
import { sleep } from '../lib/clock.js';
import type { BenchItem, Context } from '../lib/context.js';
import { progress } from '../lib/progress.js';
import type { ItemResult } from '../lib/results.js';
import { freePort, rssKiB, startServer } from '../lib/server.js';
import { type ServerMemory, serverMemory } from '../lib/server-memory.js';
import type { BenchDevice } from '../sdk-contract.js';
import { provisionAccounts, split } from './population.js';

// The server's default MAX_DEVICES_PER_ACCOUNT: each account brings this many devices.
const DEVICES_PER_ACCOUNT = 10;

interface Connected {
  open: number;
  failures: number;
  firstFailure?: string;
}

/**
 * Idle authenticated streams on one API process: a fresh API process (so
 * that the garbage of provisioning thousands of devices is neither in its RSS
 * nor freed in the middle), its RSS read before and after the streams open.
 */
export const idleSockets: BenchItem = {
  name: 'idle-sockets',
  kind: 'scenario',
  description: 'N idle authenticated /v1/stream sockets on one API process: RSS per socket',
  targets: 'RSS per idle stream ≤ 1.3× a bare ws socket’s',
  ceilings: ['raw-idle'],
  needsServer: true,
  measuresSharedServer: false,
  needs: ['stream'],
  // Provisioning goes at ~100 devices/s here, opening streams at ~250/s.
  maxSeconds: (s) => 60 + s.idleSockets / s.idleSocketsPerDevice / 100 + s.idleSockets / 200,
  async run(context, result) {
    const s = context.settings;
    const count = idleSocketCount(s.idleSockets, context.openFilesHard);
    const deviceCount = Math.ceil(count / s.idleSocketsPerDevice);
    const provisioners = await Promise.all(
      Array.from({ length: s.loadProcesses }, (_, index) =>
        context.spawn('sdk-load', `idle provision#${index + 1}`),
      ),
    );
    const accounts = Math.ceil(deviceCount / DEVICES_PER_ACCOUNT);
    progress(`idle-sockets: provisioning ${deviceCount} devices (${accounts} accounts)`);
    const devices = (
      await provisionAccounts(context, provisioners, 'idle', accounts, DEVICES_PER_ACCOUNT)
    )
      .flat()
      .slice(0, deviceCount);
    await Promise.all(provisioners.map((load) => load.stop()));

    const port = await freePort();
    const api = await startServer(
      'api',
      {
        DATABASE_URL: context.databaseUrl,
        REDIS_URL: context.redisUrl,
        REDIS_PREFIX: context.redisPrefix,
      },
      port,
      path.join(context.resultsDir, `${context.runId}-idle-api.log`),
    );
    try {
      await measure(context, result, devices, count, api.pid, `http://127.0.0.1:${port}`);
    } finally {
      await api.stop();
    }
  },
};

async function measure(
  context: Context,
  result: ItemResult,
  devices: BenchDevice[],
  count: number,
  pid: number,
  baseUrl: string,
): Promise<void> {
  const s = context.settings;
  await sleep(s.settleMs);
  const before = await rssKiB(pid);
  const memoryBefore = await serverMemory(baseUrl).catch(() => ({}));
  progress(
    `idle-sockets: opening ${count} streams for ${devices.length} devices (API RSS before ${before} KiB)`,
  );
  const clients = await Promise.all(
    Array.from({ length: s.loadProcesses }, (_, index) =>
      context.spawn('idle-clients', `idle clients#${index + 1}`),
    ),
  );
  // In two halves, each process its share of each: the second half's cost
  // is the marginal one, without what the first streams grow once (the
  // heap's young generation, pools, buffers of the first connection storm).
  const halves = split(devices, 2);
  const connected: Connected[] = [];
  const readings: { open: number; rssKiB: number; memory: Partial<ServerMemory> }[] = [];
  for (const [half, halfDevices] of halves.entries()) {
    const groups = split(halfDevices, clients.length);
    const halfCount = half === 0 ? Math.round(count / 2) : count - Math.round(count / 2);
    connected.push(
      ...(await Promise.all(
        clients.map((load, index) =>
          load.call<Connected>(
            'connectDevices',
            {
              baseUrl,
              // Each process opens its devices' streams through the SDK, round-robin over them.
              count: Math.round((halfCount * groups[index].length) / halfDevices.length),
              devices: groups[index],
              // Other source addresses than the raw ceiling's: no wait on its closed ports.
              localAddress: loopbackAddress(index + clients.length),
              concurrency: 100,
            },
            300_000,
          ),
        ),
      )),
    );
    await sleep(s.settleMs);
    readings.push({
      open: (await Promise.all(clients.map((load) => load.call<{ open: number }>('open')))).reduce(
        (total, part) => total + part.open,
        0,
      ),
      rssKiB: await rssKiB(pid),
      memory: await serverMemory(baseUrl).catch(() => ({})),
    });
  }
  const [halfway, full] = readings;
  const after = full.rssKiB;
  // Still open after the settle: authenticated (the server closes a bad token with 4401 at once).
  const open = full.open;
  const failures = connected.reduce((total, part) => total + part.failures, 0);
  const notes: string[] = [];
  if (count < s.idleSockets) {
    notes.push(
      `capped at ${count} by the open-files hard limit ${context.openFilesHard} (less ${FD_RESERVE} for the process's own)`,
    );
  }
  if (s.idleSocketsPerDevice > 1) notes.push(`${s.idleSocketsPerDevice} streams per device`);
  result.figures.push(
    {
      key: 'idle-sockets.sockets',
      label: 'idle authenticated streams held by one API process',
      value: open,
      unit: 'sockets',
      ceiling: ['raw-idle.sockets'],
      note: notes.join('; ') || undefined,
    },
    {
      key: 'idle-sockets.kib_per_socket',
      label: 'API RSS per idle stream',
      value: open ? (after - before) / open : null,
      unit: 'KiB',
      ceiling: ['raw-idle.kib_per_socket'],
      ratioTarget: { op: '<=', value: 1.3 },
      note: failures
        ? `${failures} failed to open: ${connected.find((part) => part.firstFailure)?.firstFailure}`
        : undefined,
    },
  );
  result.details = {
    requested: s.idleSockets,
    attempted: count,
    devices: devices.length,
    open,
    failures,
    rssBeforeKiB: before,
    rssAfterKiB: after,
    // The second half's RSS per stream, and where the process's memory was at each reading.
    marginalKiBPerSocket:
      full.open > halfway.open ? (full.rssKiB - halfway.rssKiB) / (full.open - halfway.open) : null,
    memoryBefore,
    readings,
  };
  await Promise.all(clients.map((load) => load.call('closeAll')));
}
