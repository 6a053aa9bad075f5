import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { openLoop } from '../../lib/drivers.js';
import { monoMs } from '../../lib/clock.js';

// The raw BullMQ ceiling's producer: jobs shaped and optioned like a fan-out
// job (a fixed id fanout-<uuid>, an id-only payload, the queue's defaults).
let queue: Queue | undefined;

/** The fan-out queue's job options (src/queue/queue.module.ts on main). */
export const FANOUT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: true,
  removeOnFail: true,
};

const job = (t: number) => {
  const messageId = randomUUID();
  return { name: 'fanout-message', data: { messageId, t }, opts: { jobId: `fanout-${messageId}` } };
};

export const handlers = {
  async connect(options: { redisUrl: string; prefix: string; queue: string }) {
    queue = new Queue(options.queue, {
      connection: { url: options.redisUrl, maxRetriesPerRequest: null },
      prefix: options.prefix,
      defaultJobOptions: FANOUT_JOB_OPTIONS,
    });
    queue.on('error', () => undefined);
    await queue.waitUntilReady();
    return {};
  },

  /** `count` jobs in addBulk batches of `batch` (the server batches adds per event-loop turn). */
  async flood({ count, batch, inFlight }: { count: number; batch: number; inFlight: number }) {
    const q = queue as Queue;
    let added = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (added < count) {
          const size = Math.min(batch, count - added);
          added += size;
          const now = monoMs();
          const jobs = Array.from({ length: size }, () => job(now));
          await q.addBulk(jobs);
        }
      }),
    );
    return { added };
  },

  /** One add per job at a fixed rate; each job carries its due time. */
  fixedRate({ rate, durationMs }: { rate: number; durationMs: number }) {
    const q = queue as Queue;
    return openLoop({
      rate,
      durationMs,
      maxInFlight: 256,
      op: async () => {
        const next = job(monoMs());
        await q.add(next.name, next.data, next.opts);
      },
    });
  },
};

export async function close(): Promise<void> {
  await queue?.close();
}
