import type { LoadResult } from '../lib/drivers.js';
import type { BenchItem } from '../lib/context.js';
import { summarize } from '../lib/latency.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';
import { withRawMessageTables } from './raw-schema.js';

/**
 * Raw insert ceiling: the rows of an accepted message (1 message with a
 * 1 KiB bytea body + 3 deliveries) written by bare pg clients, one
 * transaction per message, synchronous_commit on, as many in flight as the
 * ingest scenario has (on `pgConnections` connections, PostgreSQL's best);
 * then at the accept-latency scenario's fixed rate.
 */
export const rawInsert: BenchItem = {
  name: 'raw-insert',
  kind: 'ceiling',
  description: 'bare pg: 1 message (1 KiB bytea) + 3 deliveries per transaction, durable',
  needsServer: false,
  maxSeconds: (s) => (s.warmupMs + s.throughputMs + s.latencyMs) / 1000 + 30,
  async run(context, result) {
    const s = context.settings;
    await withRawMessageTables(context.databaseUrl, async () => {
      const load = await context.spawn('pg-insert', 'raw-insert');
      await load.call('connect', {
        databaseUrl: context.databaseUrl,
        connections: s.pgConnections,
      });
      progress(
        `raw-insert: ${s.concurrency} in flight on ${s.pgConnections} connections, back to back for ${s.throughputMs / 1000} s`,
      );
      const meter = await CpuMeter.start();
      const throughput = await load.call<LoadResult>('throughput', {
        concurrency: s.concurrency,
        warmupMs: s.warmupMs,
        durationMs: s.throughputMs,
      });
      const cores = await meter.stop(context.cpuGroups());
      const msgsPerSecond = throughput.completed / throughput.seconds;
      progress(
        `raw-insert: ${msgsPerSecond.toFixed(0)} msgs/s; now ${s.latencyRate}/s for ${s.latencyMs / 1000} s`,
      );
      const fixed = await load.call<LoadResult>('fixedRate', {
        rate: s.latencyRate,
        durationMs: s.latencyMs,
      });
      const latency = summarize(fixed.latencies);
      result.figures.push(
        {
          key: 'raw-insert.msgs_per_s',
          label: `msgs/s at concurrency ${s.concurrency}`,
          value: msgsPerSecond,
          unit: 'msgs/s',
        },
        {
          key: 'raw-insert.rows_per_s',
          label: 'rows/s (1 message + 3 deliveries)',
          value: msgsPerSecond * 4,
          unit: 'rows/s',
        },
        {
          key: 'raw-insert.p50_at_rate',
          label: `insert p50 at ${s.latencyRate} msgs/s`,
          value: latency.p50,
          unit: 'ms',
        },
        {
          key: 'raw-insert.p99_at_rate',
          label: `insert p99 at ${s.latencyRate} msgs/s`,
          value: latency.p99,
          unit: 'ms',
        },
      );
      result.details = {
        concurrency: s.concurrency,
        connections: s.pgConnections,
        throughput: {
          completed: throughput.completed,
          errors: throughput.errors,
          seconds: throughput.seconds,
          latency: summarize(throughput.latencies),
          cores,
        },
        fixedRate: { rate: s.latencyRate, errors: fixed.errors, latency },
      };
      result.series = [{ name: `raw insert at ${s.latencyRate} msgs/s`, samples: fixed.latencies }];
      if (throughput.errors || fixed.errors) {
        result.details.firstError = throughput.firstError ?? fixed.firstError;
      }
    });
  },
};
