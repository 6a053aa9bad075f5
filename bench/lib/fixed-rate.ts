import type { Settings } from './context.js';
import { type CpuGroups, CpuMeter } from './cpu.js';
import type { LoadResult } from './drivers.js';
import { progress } from './progress.js';
import type { LoadProcess } from './rpc.js';

/**
 * The accept-shaped runs (accept-latency and its raw-http ceiling): `load`
 * sends at the run's fixed rate, open loop, first for the warm-up and then
 * for the measured window, whose CPU split by `groups` comes with it.
 */
export async function openLoopAtRate(
  label: string,
  load: LoadProcess,
  s: Settings,
  groups: () => CpuGroups,
): Promise<{ measured: LoadResult; cores: Record<string, number> }> {
  const run = (durationMs: number) =>
    load.call<LoadResult>('openLoop', { rate: s.latencyRate, durationMs, maxInFlight: 256 });
  progress(
    `${label}: ${s.latencyRate} msgs/s, ${s.warmupMs / 1000} s warm-up + ${s.latencyMs / 1000} s`,
  );
  await run(s.warmupMs);
  const meter = await CpuMeter.start();
  const measured = await run(s.latencyMs);
  return { measured, cores: await meter.stop(groups()) };
}
