/**
 * A latency recorder: every sample kept (a run records at most a few hundred
 * thousand), sorted once for exact percentiles. Samples travel between
 * processes as Float64Array and are merged by concatenation.
 */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private size = 0;

  record(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  get count(): number {
    return this.size;
  }

  /** A copy of the samples recorded so far (in recording order). */
  values(): Float64Array {
    return this.samples.slice(0, this.size);
  }

  reset(): void {
    this.size = 0;
  }
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function mergeSamples(parts: Float64Array[]): Float64Array {
  const merged = new Float64Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    merged.set(part, offset);
    offset += part.length;
  }
  return merged;
}

export function sortedCopy(samples: Float64Array): Float64Array {
  return samples.slice().sort();
}

/** The value at quantile q (0..1) of sorted samples, nearest rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(samples: Float64Array): LatencySummary {
  const sorted = sortedCopy(samples);
  let total = 0;
  for (const value of sorted) total += value;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    count: sorted.length,
    min: round(sorted[0] ?? Number.NaN),
    mean: round(sorted.length ? total / sorted.length : Number.NaN),
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    p99: round(quantile(sorted, 0.99)),
    p999: round(quantile(sorted, 0.999)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}
