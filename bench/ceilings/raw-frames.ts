import type { BenchItem } from '../lib/context.js';
import { sleep, waitUntil } from '../lib/clock.js';
import { mergeSamples, summarize } from '../lib/latency.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';

interface Recording {
  frames: number;
  firstAt: number;
  lastAt: number;
  latencies: Float64Array;
  rounds: [number, number][];
}

/**
 * Raw frame ceiling: a bare `ws` server process pushing InboxMessage-shaped
 * 1 KiB frames to clients in other processes. Measured: frames/s to the live
 * scenario's receivers, send→receive latency at the live scenario's frame
 * rate, one client drained as fast as it reads (the catch-up's shape), and
 * one frame broadcast to the fan-out scenario's device count.
 */
export const rawFrames: BenchItem = {
  name: 'raw-frames',
  kind: 'ceiling',
  description: 'bare ws server → ws clients in another process, 1 KiB InboxMessage frames',
  needsServer: false,
  maxSeconds: (s) => (s.throughputMs + s.latencyMs) / 1000 + 60,
  async run(context, result) {
    const s = context.settings;
    const receivers = s.pairs * s.deliveriesPerMessage;
    const frameRate = s.latencyRate * s.deliveriesPerMessage;
    const server = await context.spawn('ws-server', 'raw-frames server');
    const { port } = await server.call<{ port: number }>('listen');
    const url = `ws://127.0.0.1:${port}`;
    const clients = await Promise.all(
      Array.from({ length: s.loadProcesses }, (_, index) =>
        context.spawn('ws-clients', `raw-frames clients#${index + 1}`),
      ),
    );
    const [first] = clients;
    await first.call('connect', { url, count: receivers });

    progress(`raw-frames: ${receivers} clients, as fast as they read, ${s.throughputMs / 1000} s`);
    await first.call('startRecording');
    const meter = await CpuMeter.start();
    await server.call('throughput', { durationMs: s.throughputMs });
    await sleep(200);
    const throughput = await first.call<Recording>('stopRecording');
    const cores = await meter.stop(context.cpuGroups());
    const framesPerSecond = throughput.frames / (s.throughputMs / 1000);

    progress(
      `raw-frames: ${framesPerSecond.toFixed(0)} frames/s; now ${frameRate}/s for ${s.latencyMs / 1000} s`,
    );
    await first.call('startRecording');
    const fixed = await server.call<{ sent: number }>('fixedRate', {
      rate: frameRate,
      durationMs: s.latencyMs,
    });
    await waitUntil(
      'every fixed-rate frame',
      async () => (await first.call<{ frames: number }>('frames')).frames >= fixed.sent,
      10_000,
    );
    const atRate = await first.call<Recording>('stopRecording');
    const latency = summarize(atRate.latencies);

    // At least 20,000 even in a quick run: a smaller burst is over too soon to time.
    const burstFrames = Math.max(20_000, s.catchUpMessages);
    progress(`raw-frames: ${burstFrames} frames to one client`);
    await first.call('startRecording');
    await server.call('burst', { count: burstFrames });
    await waitUntil(
      'the burst',
      async () => (await first.call<{ frames: number }>('frames')).frames >= burstFrames,
      30_000,
    );
    const burst = await first.call<Recording>('stopRecording');
    // From the first frame's send (its arrival less its latency) to the last arrival.
    const burstStart = burst.firstAt - (burst.latencies[0] ?? 0);
    const burstPerSecond = burst.frames / ((burst.lastAt - burstStart) / 1000);

    const perProcess = Math.ceil(s.fanoutDevices / clients.length);
    await Promise.all(
      clients.map((load, index) =>
        load.call('connect', {
          url,
          count: index === 0 ? Math.max(0, perProcess - receivers) : perProcess,
        }),
      ),
    );
    const total = (await server.call<{ count: number }>('clients')).count;
    const warmUp = s.broadcastWarmUpRounds;
    progress(
      `raw-frames: one frame to ${total} clients, ${warmUp} rounds to warm up, ${s.broadcastRounds} counted`,
    );
    await Promise.all(clients.map((load) => load.call('startRecording')));
    await server.call('broadcast', { rounds: warmUp + s.broadcastRounds, gapMs: 200 });
    await sleep(300);
    const recordings = await Promise.all(
      clients.map((load) => load.call<Recording>('stopRecording')),
    );
    const lastByRound = new Map<number, number>();
    for (const recording of recordings) {
      for (const [round, latest] of recording.rounds) {
        lastByRound.set(round, Math.max(lastByRound.get(round) ?? 0, latest));
      }
    }
    // The same warm-up rounds as fanout-1000's, not counted.
    for (let round = 0; round < warmUp; round++) lastByRound.delete(round);
    const broadcast = summarize(new Float64Array(lastByRound.values()));

    result.figures.push(
      {
        key: 'raw-frames.frames_per_s',
        label: `frames/s to ${receivers} clients`,
        value: framesPerSecond,
        unit: 'frames/s',
      },
      {
        key: 'raw-frames.p50_at_rate',
        label: `send→receive p50 at ${frameRate} frames/s`,
        value: latency.p50,
        unit: 'ms',
      },
      {
        key: 'raw-frames.p99_at_rate',
        label: `send→receive p99 at ${frameRate} frames/s`,
        value: latency.p99,
        unit: 'ms',
      },
      {
        key: 'raw-frames.one_client_per_s',
        label: `${burstFrames} frames to one client`,
        value: burstPerSecond,
        unit: 'msgs/s',
      },
      {
        key: 'raw-frames.broadcast_ms',
        label: `one frame to ${total} clients, last received (worst of ${lastByRound.size})`,
        value: broadcast.max,
        unit: 'ms',
      },
    );
    result.details = {
      receivers,
      throughput: { frames: throughput.frames, latency: summarize(throughput.latencies), cores },
      fixedRate: { rate: frameRate, sent: fixed.sent, latency },
      burst: { frames: burst.frames, seconds: (burst.lastAt - burst.firstAt) / 1000 },
      broadcast: { clients: total, rounds: lastByRound.size, lastReceived: broadcast },
    };
    result.series = [
      { name: `raw ws at ${frameRate} frames/s`, samples: mergeSamples([atRate.latencies]) },
    ];
  },
};
