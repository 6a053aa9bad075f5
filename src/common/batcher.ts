import type { Context } from '@opentelemetry/api';
import { activeContext, inBatchSpan } from '../telemetry/trace-context.js';
/**
 * Coalesces the calls made in the same turn of the event loop into one batch
 * call, so that N concurrent requests cost one database or Redis round trip
 * instead of N. On this kind of machine a round trip (a loopback write that
 * wakes another process) costs far more than the query itself.
 *
 * With `maxInFlight`, a batch waits while that many run: under load the
 * calls that arrive meanwhile go out together when one finishes (group
 * commit), instead of as many small concurrent statements; at low load
 * nothing waits.
 *
 * `run` receives distinct inputs and returns one result per input, in order.
 * Calls whose inputs have the same key (by `keyOf`) in one batch share the
 * first one's result. If the batch fails, every caller in it gets the error.
 *
 * With `maxWaiting`, at most that many inputs wait for a batch: past it a
 * call fails at once with `overloaded()` (shed), so that a slow backend
 * cannot make the queue, and the memory it holds, grow without bound.
 */
export class Batcher<I, R> {
  private pending = new Map<unknown, Entry<I, R>>();
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly run: (inputs: I[]) => Promise<R[]>,
    private readonly options: {
      maxBatch?: number;
      keyOf?: (input: I) => unknown;
      /** Gather calls for this long instead of one event-loop turn (for work nobody waits on). */
      lingerMs?: number;
      /** At most this many batches run at once; the rest wait for one to finish. */
      maxInFlight?: number;
      /**
       * What an input weighs (default 1 each), and the most a batch may weigh:
       * a batch stops short of it, but always takes at least one input.
       */
      weightOf?: (input: I) => number;
      maxWeight?: number;
      /** At most this many distinct inputs wait; a call past it is refused with `overloaded()`. */
      maxWaiting?: number;
      overloaded?: () => Error;
      /**
       * With tracing on, each batch runs in a span of this name, in the trace
       * of its first call and linked to the others' (their statements would
       * otherwise join whichever trace happened to flush).
       */
      spanName?: string;
    } = {},
  ) {}

  load(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const key = this.options.keyOf ? this.options.keyOf(input) : input;
      const entry = this.pending.get(key);
      if (entry) entry.waiters.push({ resolve, reject });
      else if (this.pending.size >= (this.options.maxWaiting ?? Number.POSITIVE_INFINITY)) {
        reject(this.options.overloaded?.() ?? new Error('batcher overloaded'));
        return;
      } else
        this.pending.set(key, {
          input,
          waiters: [{ resolve, reject }],
          caller: this.options.spanName ? activeContext() : undefined,
        });
      if (this.pending.size >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.options.lingerMs) setTimeout(() => this.flush(), this.options.lingerMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private get maxBatch(): number {
    return this.options.maxBatch ?? 500;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    // A full slot count leaves the calls pending: the batch that finishes next flushes them.
    if (this.options.maxInFlight && this.inFlight >= this.options.maxInFlight) return;
    const entries = this.takeBatch();
    this.inFlight++;
    this.start(entries)
      .then(
        (results) => {
          entries.forEach((entry, index) => {
            for (const waiter of entry.waiters) waiter.resolve(results[index]);
          });
        },
        (error: unknown) => {
          for (const entry of entries) for (const waiter of entry.waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        if (!this.scheduled) this.flush();
      });
    if (this.pending.size > 0) this.flush();
  }

  // A `run` that throws instead of rejecting still fails its callers and frees its slot.
  private start(entries: Entry<I, R>[]): Promise<R[]> {
    const inputs = entries.map((entry) => entry.input);
    try {
      if (!this.options.spanName) return this.run(inputs);
      const callers = entries.flatMap((entry) => (entry.caller ? [entry.caller] : []));
      return inBatchSpan(this.options.spanName, callers, () => this.run(inputs));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private takeBatch(): Entry<I, R>[] {
    const { weightOf, maxWeight = Number.POSITIVE_INFINITY } = this.options;
    // Unweighed, every input weighs 1: what waits fits when its count does.
    if (!weightOf && this.pending.size <= Math.min(this.maxBatch, maxWeight)) {
      const entries = [...this.pending.values()];
      this.pending = new Map();
      return entries;
    }
    const entries: Entry<I, R>[] = [];
    let weight = 0;
    for (const [key, entry] of this.pending) {
      if (entries.length === this.maxBatch) break;
      const entryWeight = weightOf ? weightOf(entry.input) : 1;
      if (entries.length > 0 && weight + entryWeight > maxWeight) break;
      weight += entryWeight;
      entries.push(entry);
      this.pending.delete(key);
    }
    return entries;
  }
}

interface Entry<I, R> {
  input: I;
  waiters: Waiter<R>[];
  /** The first call's context, kept only for a traced batcher. */
  caller?: Context;
}

interface Waiter<R> {
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/** Groups rows by a key, in the order of `keys` (for batch queries answered with `= ANY($1)`). */
export function groupRowsBy<T, K>(keys: K[], rows: T[], keyOf: (row: T) => K): T[][] {
  const groups = new Map<K, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}
