import type { BenchItem, Context } from '../lib/context.js';
import type { LoadResult } from '../lib/drivers.js';
import { mergeSamples, summarize } from '../lib/latency.js';
import { progress } from '../lib/progress.js';
import { CpuMeter } from '../lib/cpu.js';
import type { LoadProcess } from '../lib/rpc.js';
import { pairs, routeOf, split } from './population.js';

/** Load processes whose SDK clients send among the run's pairs. */
export async function senders(
  context: Context,
  label: string,
  options: { ephemeral?: boolean } = {},
): Promise<LoadProcess[]> {
  const s = context.settings;
  const baseUrl = context.server!.baseUrl;
  const loads = await Promise.all(
    Array.from({ length: s.loadProcesses }, (_, index) =>
      context.spawn('sdk-load', `${label}#${index + 1}`),
    ),
  );
  const population = await pairs(context, loads, 'main', s.pairs);
  const groups = split(population, loads.length);
  await Promise.all(
    loads.map((load, index) =>
      load.call('routes', { baseUrl, routes: groups[index].map(routeOf), ...options }),
    ),
  );
  return loads;
}

/** Sends back to back from the load processes, the run's concurrency in flight. */
export function sendBackToBack(
  context: Context,
  loads: LoadProcess[],
  warmupMs: number,
  durationMs: number,
): Promise<LoadResult[]> {
  return Promise.all(
    loads.map((load) =>
      load.call<LoadResult>('closedLoop', {
        concurrency: Math.ceil(context.settings.concurrency / loads.length),
        warmupMs,
        durationMs,
      }),
    ),
  );
}

/** Durable ingest: 1 KiB messages, 3 deliveries each, closed loop, as many in flight as the ceiling. */
export const ingest: BenchItem = {
  name: 'ingest',
  kind: 'scenario',
  description: 'POST /v1/messages back to back from several load processes',
  targets: '≥ 70% of the raw insert ceiling at the same in-flight count',
  ceilings: ['raw-insert'],
  needsServer: true,
  needs: ['messages'],
  maxSeconds: (s) => (s.warmupMs + s.throughputMs) / 1000 + 60,
  async run(context, result) {
    const s = context.settings;
    const loads = await senders(context, 'ingest');
    progress(
      `ingest: ${s.concurrency} in flight for ${s.throughputMs / 1000} s after ${s.warmupMs / 1000} s warm-up`,
    );
    const meter = await CpuMeter.start();
    const parts = await sendBackToBack(context, loads, s.warmupMs, s.throughputMs);
    const cores = await meter.stop(context.cpuGroups());
    const completed = parts.reduce((total, part) => total + part.completed, 0);
    const errors = parts.reduce((total, part) => total + part.errors, 0);
    const seconds = s.throughputMs / 1000;
    const rate = completed / seconds;
    result.figures.push({
      key: 'ingest.msgs_per_s',
      label: `accepted msgs/s at concurrency ${s.concurrency}`,
      value: rate,
      unit: 'msgs/s',
      ceiling: ['raw-insert.msgs_per_s'],
      ratioTarget: { op: '>=', value: 0.7 },
      note: errors
        ? `${errors} failed sends: ${parts.find((part) => part.firstError)?.firstError}`
        : undefined,
    });
    result.details = {
      completed,
      errors,
      seconds,
      latency: summarize(mergeSamples(parts.map((part) => part.latencies))),
      cores,
    };
  },
};

/**
 * Ephemeral sends, the same load as ingest: what one costs without
 * PostgreSQL's write, the fan-out and the inbox (the recipients have no
 * stream open, so this is the send path alone). Compared with ingest's rate
 * in the same run.
 */
export const ephemeralSend: BenchItem = {
  name: 'ephemeral-send',
  kind: 'scenario',
  description: 'POST /v1/messages with ephemeral: true, back to back, as ingest',
  targets: 'far above the stored-send rate (≥ 2× ingest)',
  ceilings: ['ingest'],
  needsServer: true,
  needs: ['messages'],
  maxSeconds: (s) => (s.warmupMs + s.throughputMs) / 1000 + 60,
  async run(context, result) {
    const s = context.settings;
    const loads = await senders(context, 'ephemeral', { ephemeral: true });
    const meter = await CpuMeter.start();
    const parts = await sendBackToBack(context, loads, s.warmupMs, s.throughputMs);
    const cores = await meter.stop(context.cpuGroups());
    const completed = parts.reduce((total, part) => total + part.completed, 0);
    const errors = parts.reduce((total, part) => total + part.errors, 0);
    const rate = completed / (s.throughputMs / 1000);
    result.figures.push(
      {
        key: 'ephemeral-send.msgs_per_s',
        label: `ephemeral msgs/s at concurrency ${s.concurrency} (÷ ingest's stored msgs/s)`,
        value: rate,
        unit: 'msgs/s',
        ceiling: ['ingest.msgs_per_s'],
        ratioTarget: { op: '>=', value: 2 },
        note: errors
          ? `${errors} failed sends: ${parts.find((part) => part.firstError)?.firstError}`
          : undefined,
      },
      {
        key: 'ephemeral-send.api_cpu_ms',
        label: 'API CPU per ephemeral message',
        value: rate > 0 ? (cores.api * 1000) / rate : null,
        unit: 'ms',
      },
    );
    result.details = { completed, errors, cores };
  },
};
