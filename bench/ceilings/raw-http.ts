import type { BenchItem } from '../lib/context.js';
import { summarize } from '../lib/latency.js';
import { openLoopAtRate } from '../lib/fixed-rate.js';
import { withRawMessageTables } from './raw-schema.js';

/**
 * Raw HTTP ceiling of the accept scenario: a bare node:http server process
 * that stores each POSTed send request as the raw insert ceiling does (one
 * durable transaction) and answers 201, driven at the accept scenario's
 * fixed rate by the scenarios' own keep-alive client and open-loop driver.
 * Besides latency it records the bare server's CPU per request at that
 * rate, beside which the accept scenario sets the API's CPU per message: on
 * a VM where waking an idle process is costly, what a request costs depends
 * on the rate, so only the same rate compares. No throughput figure: with
 * one transaction per request this server stores fewer messages per second
 * than the API, which shares one transaction among the sends of an
 * event-loop turn.
 */
export const rawHttp: BenchItem = {
  name: 'raw-http',
  kind: 'ceiling',
  description:
    'bare node:http server + bare pg pool: POST of a send request → durable insert → 201',
  needsServer: false,
  maxSeconds: (s) => (s.warmupMs + s.latencyMs) / 1000 + 30,
  async run(context, result) {
    const s = context.settings;
    await withRawMessageTables(context.databaseUrl, async () => {
      const server = await context.spawn('http-insert-server', 'raw-http server');
      const { port } = await server.call<{ port: number }>('listen', {
        databaseUrl: context.databaseUrl,
        connections: s.pgConnections,
      });
      const baseUrl = `http://127.0.0.1:${port}`;
      const load = await context.spawn('http-post', 'raw-http load');
      await load.call('connect', { baseUrl, maxSockets: 256 });
      const { measured: fixed, cores } = await openLoopAtRate('raw-http', load, s, () => ({
        server: [server.pid],
        load: [load.pid],
      }));
      const latency = summarize(fixed.latencies);
      result.figures.push(
        {
          key: 'raw-http.p50_at_rate',
          label: `POST → 201 p50 at ${s.latencyRate} msgs/s`,
          value: latency.p50,
          unit: 'ms',
        },
        {
          key: 'raw-http.p99_at_rate',
          label: `POST → 201 p99 at ${s.latencyRate} msgs/s`,
          value: latency.p99,
          unit: 'ms',
        },
        {
          key: 'raw-http.server_cpu_ms_at_rate',
          label: `bare server CPU per request at ${s.latencyRate} msgs/s`,
          value: (cores.server * 1000) / s.latencyRate,
          unit: 'ms',
        },
      );
      result.details = {
        rate: s.latencyRate,
        completed: fixed.completed,
        errors: fixed.errors,
        firstError: fixed.firstError,
        latency,
        cores,
      };
      result.series = [{ name: `raw http at ${s.latencyRate} msgs/s`, samples: fixed.latencies }];
    });
  },
};
