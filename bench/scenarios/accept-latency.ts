import type { BenchItem } from '../lib/context.js';
import { summarize } from '../lib/latency.js';
import { openLoopAtRate } from '../lib/fixed-rate.js';
import { pairs, routeOf } from './population.js';

/** Accept latency: open loop at a fixed rate, each send timed from when it was due to its 201. */
export const acceptLatency: BenchItem = {
  name: 'accept-latency',
  kind: 'scenario',
  description: 'POST /v1/messages at a fixed rate (open loop), due → 201',
  targets: 'p99 ≤ 2× raw-http p99, API CPU per message ≤ 2× the bare server’s, at 1,000 msgs/s',
  ceilings: ['raw-http'],
  needsServer: true,
  needs: ['messages'],
  maxSeconds: (s) => (s.warmupMs + s.latencyMs) / 1000 + 60,
  async run(context, result) {
    const s = context.settings;
    const load = await context.spawn('sdk-load', 'accept-latency');
    const population = await pairs(context, [load], 'main', s.pairs);
    await load.call('routes', {
      baseUrl: context.server!.baseUrl,
      routes: population.map(routeOf),
    });
    const { measured, cores } = await openLoopAtRate('accept-latency', load, s, () =>
      context.cpuGroups(),
    );
    const latency = summarize(measured.latencies);
    const note = measured.errors ? `${measured.errors} failed: ${measured.firstError}` : undefined;
    result.figures.push(
      {
        key: 'accept-latency.p50',
        label: `accept p50 at ${s.latencyRate} msgs/s`,
        value: latency.p50,
        unit: 'ms',
        ceiling: ['raw-http.p50_at_rate'],
      },
      {
        key: 'accept-latency.p99',
        label: `accept p99 at ${s.latencyRate} msgs/s`,
        value: latency.p99,
        unit: 'ms',
        ceiling: ['raw-http.p99_at_rate'],
        ratioTarget: { op: '<=', value: 2 },
        note,
      },
      {
        key: 'accept-latency.api_cpu_ms',
        label: `API CPU per message at ${s.latencyRate} msgs/s`,
        value: (cores.api * 1000) / s.latencyRate,
        unit: 'ms',
        ceiling: ['raw-http.server_cpu_ms_at_rate'],
        ratioTarget: { op: '<=', value: 2 },
      },
    );
    result.details = {
      rate: s.latencyRate,
      completed: measured.completed,
      errors: measured.errors,
      latency,
      cores,
    };
    result.series = [{ name: `accept at ${s.latencyRate} msgs/s`, samples: measured.latencies }];
  },
};
