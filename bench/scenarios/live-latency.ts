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
// The low rate of the in-memory comparison: what an XMPP server routing in
// memory (Prosody) did beside us on a slow host, nothing durable.
const LOW_RATE = 100;
const LOW_RATE_TARGETS = { p50: 1, p99: 5 };

export const liveLatency: BenchItem = {
  name: 'live-latency',
  kind: 'scenario',
  description: 'accepted → frame at each recipient device, at a fixed rate',
  targets: `p50 ≤ 1.5× and p99 ≤ 2× raw-bullmq + raw-frames at 1,000 msgs/s; p50 ≤ ${LOW_RATE_TARGETS.p50} ms, p99 ≤ ${LOW_RATE_TARGETS.p99} ms at ${LOW_RATE} msgs/s`,
  ceilings: ['raw-bullmq', 'raw-frames'],
  needsServer: true,
  needs: ['messages', 'stream'],
  maxSeconds: (s) => (2 * (s.warmupMs + s.latencyMs)) / 1000 + 90,
  async run(context, result) {
    const s = context.settings;
    const baseUrl = context.server!.baseUrl;
    const sender = await context.spawn('sdk-load', 'live sender');
    const receiver = await context.spawn('sdk-load', 'live receiver');
    const population = await pairs(context, [sender, receiver], 'live', s.pairs);
    const devices = population.flatMap(deliveredTo);
    await receiver.call('connect', { baseUrl, devices, concurrency: 16 });
    await sender.call('routes', { baseUrl, routes: population.map(routeOf) });

    /** Sends at `rate` after a warm-up and times every frame of the measured part. */
    const measure = async (rate: number) => {
      await receiver.call('startRecording');
      progress(
        `live-latency: ${devices.length} devices connected; ${rate} msgs/s for ${(s.warmupMs + s.latencyMs) / 1000} s`,
      );
      const meter = await CpuMeter.start();
      const sent = await sender.call<LoadResult & { records: SendRecords }>('openLoop', {
        rate,
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
      const missing = expected - acceptedToFrame.length;
      const note = [
        missing > 0 ? `${missing} of ${expected} frames missing` : '',
        sent.errors ? `${sent.errors} sends failed: ${sent.firstError}` : '',
        frames.streamErrors
          ? `${frames.streamErrors} stream errors: ${frames.firstStreamError}`
          : '',
      ]
        .filter(Boolean)
        .join('; ');
      return {
        live: summarize(Float64Array.from(acceptedToFrame)),
        acceptedToFrame,
        sendToFrame,
        note: note || undefined,
        details: {
          rate,
          messages: measured.size,
          framesExpected: expected,
          framesMeasured: acceptedToFrame.length,
          streamErrors: frames.streamErrors,
          firstStreamError: frames.firstStreamError,
          acceptedToFrame: summarize(Float64Array.from(acceptedToFrame)),
          dueToFrame: summarize(Float64Array.from(sendToFrame)),
          answerToFrame: summarize(Float64Array.from(answerToFrame)),
          acceptLatency: summarize(sent.latencies),
          cores,
        },
      };
    };

    const atRate = await measure(s.latencyRate);
    const atLowRate = await measure(LOW_RATE);
    result.figures.push(
      {
        key: 'live-latency.p50',
        label: `accepted→frame p50 at ${s.latencyRate} msgs/s`,
        value: atRate.live.p50,
        unit: 'ms',
        ceiling: ['raw-bullmq.p50_at_rate', 'raw-frames.p50_at_rate'],
        ratioTarget: { op: '<=', value: 1.5 },
      },
      {
        key: 'live-latency.p99',
        label: `accepted→frame p99 at ${s.latencyRate} msgs/s`,
        value: atRate.live.p99,
        unit: 'ms',
        ceiling: ['raw-bullmq.p99_at_rate', 'raw-frames.p99_at_rate'],
        ratioTarget: { op: '<=', value: 2 },
        note: atRate.note,
      },
      // Absolute here: the comparison is another server's, not a ceiling of ours.
      {
        key: 'live-latency.p50_low_rate',
        label: `accepted→frame p50 at ${LOW_RATE} msgs/s`,
        value: atLowRate.live.p50,
        unit: 'ms',
        target: { op: '<=', value: LOW_RATE_TARGETS.p50 },
        note: 'the server stamps acceptedAt to the millisecond',
      },
      {
        key: 'live-latency.p99_low_rate',
        label: `accepted→frame p99 at ${LOW_RATE} msgs/s`,
        value: atLowRate.live.p99,
        unit: 'ms',
        target: { op: '<=', value: LOW_RATE_TARGETS.p99 },
        note: atLowRate.note,
      },
    );
    result.details = {
      devices: devices.length,
      ...atRate.details,
      lowRate: atLowRate.details,
    };
    result.series = [
      { name: 'accepted→frame', samples: Float64Array.from(atRate.acceptedToFrame) },
      { name: 'send due→frame', samples: Float64Array.from(atRate.sendToFrame) },
    ];
    await receiver.call('disconnect');
  },
};
