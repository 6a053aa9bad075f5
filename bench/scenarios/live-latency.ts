import type { BenchItem } from '../lib/context.js';
import type { LoadResult } from '../lib/drivers.js';
import { summarize } from '../lib/latency.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';
import type { FrameRecords, SendRecords } from '../load/tasks/sdk-load.js';
import { deliveredTo, pairs, routeOf } from './population.js';

/**
 * Live end to end: every delivered device holds a stream; messages go at a
 * fixed rate; each frame is timed from the server's acceptedAt (its clock,
 * millisecond precision, the time of the accepting transaction) to its
 * arrival at the recipient. Also reported: from when the send was due, and
 * from when the sender had its 201 (negative when the frame came first).
 */
export const liveLatency: BenchItem = {
  name: 'live-latency',
  kind: 'scenario',
  description: 'accepted → frame at each recipient device, at a fixed rate',
  targets: 'p50 ≤ 3 ms, p99 ≤ 15 ms at 1,000 msgs/s',
  ceilings: ['raw-bullmq', 'raw-frames'],
  needsServer: true,
  needs: ['messages', 'stream'],
  maxSeconds: (s) => (s.warmupMs + s.latencyMs) / 1000 + 60,
  async run(context, result) {
    const s = context.settings;
    const baseUrl = context.server!.baseUrl;
    const sender = await context.spawn('sdk-load', 'live sender');
    const receiver = await context.spawn('sdk-load', 'live receiver');
    const population = await pairs(context, [sender, receiver], 'live', s.pairs);
    const devices = population.flatMap(deliveredTo);
    await receiver.call('connect', { baseUrl, devices, concurrency: 16 });
    await sender.call('routes', { baseUrl, routes: population.map(routeOf) });
    await receiver.call('startRecording');
    progress(
      `live-latency: ${devices.length} devices connected; ${s.latencyRate} msgs/s for ${(s.warmupMs + s.latencyMs) / 1000} s`,
    );
    const meter = await CpuMeter.start();
    const sent = await sender.call<LoadResult & { records: SendRecords }>('openLoop', {
      rate: s.latencyRate,
      durationMs: s.warmupMs + s.latencyMs,
      maxInFlight: 256,
      record: true,
    });
    const cores = await meter.stop(context.cpuGroups());
    const records = sent.records;
    const start = records.sentAt[0] ?? 0;
    const measured = new Map<string, number>();
    records.clientMessageIds.forEach((id, index) => {
      if (records.sentAt[index] >= start + s.warmupMs) measured.set(id, index);
    });
    const expected = measured.size * s.deliveriesPerMessage;
    await receiver.call('waitFrames', {
      count: records.clientMessageIds.length * s.deliveriesPerMessage,
      timeoutMs: 10_000,
    });
    const frames = await receiver.call<FrameRecords>('stopRecording');

    const acceptedToFrame: number[] = [];
    const sendToFrame: number[] = [];
    const answerToFrame: number[] = [];
    frames.clientMessageIds.forEach((id, index) => {
      const sentIndex = measured.get(id);
      if (sentIndex === undefined) return;
      acceptedToFrame.push(frames.acceptedToFrame[index]);
      sendToFrame.push(frames.receivedAt[index] - records.sentAt[sentIndex]);
      answerToFrame.push(frames.receivedAt[index] - records.answeredAt[sentIndex]);
    });
    const live = summarize(Float64Array.from(acceptedToFrame));
    const missing = expected - acceptedToFrame.length;
    const note = [
      missing > 0 ? `${missing} of ${expected} frames missing` : '',
      sent.errors ? `${sent.errors} sends failed: ${sent.firstError}` : '',
      frames.streamErrors ? `${frames.streamErrors} stream errors: ${frames.firstStreamError}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    result.figures.push(
      {
        key: 'live-latency.p50',
        label: `accepted→frame p50 at ${s.latencyRate} msgs/s`,
        value: live.p50,
        unit: 'ms',
        target: { op: '<=', value: 3 },
        ceiling: ['raw-bullmq.p50_at_rate', 'raw-frames.p50_at_rate'],
      },
      {
        key: 'live-latency.p99',
        label: `accepted→frame p99 at ${s.latencyRate} msgs/s`,
        value: live.p99,
        unit: 'ms',
        target: { op: '<=', value: 15 },
        ceiling: ['raw-bullmq.p99_at_rate', 'raw-frames.p99_at_rate'],
        note: note || undefined,
      },
    );
    result.details = {
      rate: s.latencyRate,
      devices: devices.length,
      messages: measured.size,
      framesExpected: expected,
      framesMeasured: acceptedToFrame.length,
      streamErrors: frames.streamErrors,
      firstStreamError: frames.firstStreamError,
      acceptedToFrame: live,
      dueToFrame: summarize(Float64Array.from(sendToFrame)),
      answerToFrame: summarize(Float64Array.from(answerToFrame)),
      acceptLatency: summarize(sent.latencies),
      cores,
    };
    result.series = [
      { name: 'accepted→frame', samples: Float64Array.from(acceptedToFrame) },
      { name: 'send due→frame', samples: Float64Array.from(sendToFrame) },
    ];
    await receiver.call('disconnect');
  },
};
