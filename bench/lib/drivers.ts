import { monoMs, sleep } from './clock.js';
import { LatencyRecorder } from './latency.js';

/**
 * Load shapes shared by the ceilings and the scenarios, so that a raw figure
 * and the server figure it is compared with come from the same driver.
 */

export interface LoadResult {
  /** Operations completed inside the measured window. */
  completed: number;
  errors: number;
  /** Length of the measured window in seconds. */
  seconds: number;
  /** Latency of each operation of the window, in ms. */
  latencies: Float64Array;
  firstError?: string;
}

/**
 * Closed loop: `concurrency` workers each run `op` back to back for warmup +
 * duration; operations that finish inside the window after warmup are counted.
 */
export async function closedLoop(options: {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  op: (worker: number, sequence: number) => Promise<void>;
}): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  const start = monoMs();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      while (monoMs() < windowEnd) {
        const began = monoMs();
        try {
          await options.op(worker, sequence++);
          const ended = monoMs();
          if (began >= windowStart && ended <= windowEnd) {
            completed++;
            recorder.record(ended - began);
          }
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
          await sleep(5); // an error answers fast: do not spin on it
        }
      }
    }),
  );
  return {
    completed,
    errors,
    seconds: options.durationMs / 1000,
    latencies: recorder.values(),
    firstError,
  };
}

/**
 * Open loop: operations are due at a fixed rate whatever the answers; each
 * latency is counted from when the operation was due, not when it could start,
 * so a stall shows in the figures instead of hiding (no coordinated omission).
 * At most `maxInFlight` run at once; the rest wait in order.
 */
export async function openLoop(options: {
  rate: number;
  durationMs: number;
  maxInFlight: number;
  /** Ends the schedule early when it answers true (checked before each tick). */
  shouldStop?: () => boolean;
  op: (sequence: number, dueAt: number) => Promise<void>;
  /** Called with each latency sample and the op's due time (for windows such as "during purge"). */
  onSample?: (dueAt: number, latencyMs: number) => void;
}): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  let total = Math.round((options.rate * options.durationMs) / 1000);
  const intervalMs = 1000 / options.rate;
  const start = monoMs() + 5;
  let issued = 0;
  let inFlight = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const backlog: number[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const launch = (sequence: number) => {
    const dueAt = start + sequence * intervalMs;
    inFlight++;
    options.op(sequence, dueAt).then(
      () => {
        const latency = monoMs() - dueAt;
        completed++;
        recorder.record(latency);
        options.onSample?.(dueAt, latency);
        done();
      },
      (error: Error) => {
        errors++;
        firstError ??= error.message;
        done();
      },
    );
  };
  const done = () => {
    inFlight--;
    const next = backlog.shift();
    if (next !== undefined) launch(next);
    else if (issued === total && inFlight === 0) finish();
  };

  while (issued < total) {
    if (options.shouldStop?.()) {
      total = issued;
      break;
    }
    const due = Math.min(total, Math.floor((monoMs() - start) / intervalMs) + 1);
    while (issued < due) {
      const sequence = issued++;
      if (inFlight < options.maxInFlight) launch(sequence);
      else backlog.push(sequence);
    }
    if (issued < total) {
      const nextDue = start + issued * intervalMs;
      await sleep(Math.max(0, Math.min(1, nextDue - monoMs())));
    }
  }
  if (inFlight > 0 || backlog.length > 0) await finished;
  return {
    completed,
    errors,
    seconds: total / options.rate,
    latencies: recorder.values(),
    firstError,
  };
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index], index);
      }
    }),
  );
  return results;
}
