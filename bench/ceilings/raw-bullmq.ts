import type { BenchItem } from '../lib/context.js';
import { waitUntil } from '../lib/clock.js';
import type { LoadResult } from '../lib/drivers.js';
import { summarize } from '../lib/latency.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';

// The server's fan-out processor concurrency (FANOUT_CONCURRENCY's default).
export const FANOUT_CONCURRENCY = 32;

interface WorkerStats {
  processed: number;
  firstAt: number;
  lastAt: number;
  latencies: Float64Array;
}

/**
 * Raw BullMQ ceiling: fan-out-shaped jobs (fixed id, id-only payload, the
 * fan-out queue's options) through a bare Queue and a bare Worker in another
 * process, with a processor that does nothing.
 */
export const rawBullmq: BenchItem = {
  name: 'raw-bullmq',
  kind: 'ceiling',
  description: 'bare BullMQ Queue → Worker (other process), fan-out job options, no-op processor',
  needsServer: false,
  maxSeconds: (s) => s.latencyMs / 1000 + 60,
  async run(context, result) {
    const s = context.settings;
    const options = {
      redisUrl: context.redisUrl,
      prefix: `${context.redisPrefix}:rawbull`,
      queue: 'fanout',
    };
    const worker = await context.spawn('bull-worker', 'raw-bullmq worker');
    const producer = await context.spawn('bull-producer', 'raw-bullmq producer');
    await worker.call('start', { ...options, concurrency: FANOUT_CONCURRENCY });
    await producer.call('connect', options);

    const jobs = s.quick ? 10_000 : 60_000;
    progress(
      `raw-bullmq: ${jobs} jobs as fast as they go (worker concurrency ${FANOUT_CONCURRENCY})`,
    );
    const meter = await CpuMeter.start();
    await producer.call('flood', { count: jobs, batch: 50, inFlight: 4 });
    await waitUntil(
      'the bare worker to process every job',
      async () => (await worker.call<WorkerStats>('stats')).processed >= jobs,
      60_000,
      50,
    );
    const cores = await meter.stop(context.cpuGroups());
    const flood = await worker.call<WorkerStats>('stats');
    const jobsPerSecond = flood.processed / ((flood.lastAt - flood.firstAt) / 1000);

    await worker.call('reset');
    progress(
      `raw-bullmq: ${jobsPerSecond.toFixed(0)} jobs/s; now ${s.latencyRate}/s for ${s.latencyMs / 1000} s`,
    );
    const fixed = await producer.call<LoadResult>('fixedRate', {
      rate: s.latencyRate,
      durationMs: s.latencyMs,
    });
    await waitUntil(
      'the bare worker to catch up',
      async () => (await worker.call<WorkerStats>('stats')).processed >= fixed.completed,
      30_000,
      50,
    );
    const stats = await worker.call<WorkerStats>('stats');
    const latency = summarize(stats.latencies);
    result.figures.push(
      { key: 'raw-bullmq.jobs_per_s', label: 'jobs/s', value: jobsPerSecond, unit: 'jobs/s' },
      {
        key: 'raw-bullmq.p50_at_rate',
        label: `enqueue→process p50 at ${s.latencyRate} jobs/s`,
        value: latency.p50,
        unit: 'ms',
      },
      {
        key: 'raw-bullmq.p99_at_rate',
        label: `enqueue→process p99 at ${s.latencyRate} jobs/s`,
        value: latency.p99,
        unit: 'ms',
      },
    );
    result.details = {
      flood: { jobs, processed: flood.processed, latency: summarize(flood.latencies), cores },
      fixedRate: { rate: s.latencyRate, added: fixed.completed, errors: fixed.errors, latency },
      addLatency: summarize(fixed.latencies),
    };
    result.series = [{ name: `raw BullMQ at ${s.latencyRate} jobs/s`, samples: stats.latencies }];
  },
};
