import { Worker } from 'bullmq';
import { monoMs } from '../../lib/clock.js';
import { LatencyRecorder } from '../../lib/latency.js';

// The raw BullMQ ceiling's consumer: a bare Worker whose processor does
// nothing but record enqueue→start, with the fan-out processor's concurrency.
let worker: Worker | undefined;
const latencies = new LatencyRecorder();
let processed = 0;
let firstAt = 0;
let lastAt = 0;

export const handlers = {
  async start(options: { redisUrl: string; prefix: string; queue: string; concurrency: number }) {
    worker = new Worker(
      options.queue,
      (job) => {
        const now = monoMs();
        const data = job.data as { t?: number };
        if (typeof data.t === 'number') latencies.record(now - data.t);
        processed++;
        if (firstAt === 0) firstAt = now;
        lastAt = now;
        return Promise.resolve();
      },
      {
        connection: { url: options.redisUrl, maxRetriesPerRequest: null },
        prefix: options.prefix,
        concurrency: options.concurrency,
      },
    );
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    return {};
  },

  reset() {
    latencies.reset();
    processed = 0;
    firstAt = 0;
    lastAt = 0;
    return {};
  },

  stats() {
    return { processed, firstAt, lastAt, latencies: latencies.values() };
  },
};

export async function close(): Promise<void> {
  await worker?.close();
}
