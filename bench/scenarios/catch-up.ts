import type { BenchItem } from '../lib/context.js';
import { monoMs, sleep } from '../lib/clock.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';
import type { FrameRecords } from '../load/tasks/sdk-load.js';
import { pairs, routeOf } from './population.js';

/** Catch-up: a device that was away reconnects to N queued messages and drains them (acking as it goes). */
export const catchUp: BenchItem = {
  name: 'catch-up',
  kind: 'scenario',
  description: 'a reconnecting device drains its queued messages over the stream',
  targets:
    '20,000 queued messages drained at ≥ 50% of raw-catchup; first message ≤ 50 ms after the stream opens',
  ceilings: ['raw-catchup'],
  needsServer: true,
  needs: ['messages', 'stream'],
  maxSeconds: (s) => 60 + s.catchUpMessages / 500,
  async run(context, result) {
    const s = context.settings;
    const baseUrl = context.server!.baseUrl;
    const sender = await context.spawn('sdk-load', 'catch-up sender');
    const receiver = await context.spawn('sdk-load', 'catch-up receiver');
    const [pair] = await pairs(context, [sender], 'catchup', 1);
    await sender.call('routes', { baseUrl, routes: [routeOf(pair)] });
    const device = { baseUrl, devices: [pair.recipients[0]], concurrency: 1 };
    // A device that was away knows who writes to it: one message first, so
    // that its SDK holds the sender's keys, as after any earlier exchange.
    // Otherwise its first message would wait for a directory look-up, the
    // client's work, which the ceiling's bare client never makes.
    await receiver.call('startRecording');
    await receiver.call('connect', device);
    await sender.call('sendCount', { count: 1, concurrency: 1 });
    await receiver.call('waitFrames', { count: 1, timeoutMs: 10_000 });
    await receiver.call('stopRecording');
    await receiver.call('disconnect');
    progress(`catch-up: queueing ${s.catchUpMessages} messages for an offline device`);
    const queued = await sender.call<{ seconds: number }>(
      'sendCount',
      { count: s.catchUpMessages, concurrency: s.concurrency },
      s.catchUpMessages * 10,
    );
    await sleep(2000); // the fan-out jobs of the backlog run out
    await receiver.call('startRecording');
    const meter = await CpuMeter.start();
    const calledAt = monoMs();
    // Timed from the socket's opening, as the target says: the receiver's
    // SDK set-up before it (its first client, libsodium's start) is the
    // client's, not the server's.
    const { openingAt } = await receiver.call<{ openingAt?: number }>('connect', device);
    const connectedAt = openingAt ?? calledAt;
    await receiver.call('waitFrames', { count: s.catchUpMessages, timeoutMs: 60_000 });
    const cores = await meter.stop(context.cpuGroups());
    const frames = await receiver.call<FrameRecords>('stopRecording');
    await receiver.call('disconnect');
    const received = new Set(frames.clientMessageIds).size;
    const last = frames.receivedAt[frames.receivedAt.length - 1] ?? connectedAt;
    const seconds = (last - connectedAt) / 1000;
    const firstFrameMs = (frames.receivedAt[0] ?? connectedAt) - connectedAt;
    result.figures.push({
      key: 'catch-up.msgs_per_s',
      label: `${s.catchUpMessages} queued messages drained by a reconnecting device`,
      value: received / seconds,
      unit: 'msgs/s',
      // The same rows paged out of PostgreSQL by a bare server (raw-frames'
      // one_client_per_s is the same drain without the database).
      ceiling: ['raw-catchup.msgs_per_s'],
      ratioTarget: { op: '>=', value: 0.5 },
      note:
        [
          received < s.catchUpMessages ? `only ${received} of ${s.catchUpMessages} arrived` : '',
          frames.streamErrors
            ? `${frames.streamErrors} stream errors: ${frames.firstStreamError}`
            : '',
        ]
          .filter(Boolean)
          .join('; ') || undefined,
    });
    result.figures.push({
      key: 'catch-up.first_frame_ms',
      label: 'connect → first message handled',
      value: firstFrameMs,
      unit: 'ms',
      target: { op: '<=', value: 50 },
      ceiling: ['raw-catchup.first_frame_ms'],
    });
    result.details = {
      queued: s.catchUpMessages,
      queueSeconds: queued.seconds,
      received,
      duplicates: frames.clientMessageIds.length - received,
      streamErrors: frames.streamErrors,
      firstStreamError: frames.firstStreamError,
      drainSeconds: seconds,
      cores,
      firstFrameMs,
    };
  },
};
