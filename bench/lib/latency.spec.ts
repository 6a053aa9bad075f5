import { LatencyRecorder, mergeSamples, quantile, sortedCopy, summarize } from './latency.js';

const samples = (...values: number[]) => Float64Array.from(values);

describe('quantile', () => {
  const sorted = samples(10, 20, 30, 40);

  it('takes the nearest rank: the smallest value with at least q of the samples at or below it', () => {
    expect([0.25, 0.26, 0.5, 0.75, 0.76].map((q) => quantile(sorted, q))).toEqual([
      10, 20, 20, 30, 40,
    ]);
  });

  it('answers the minimum at q = 0 and the maximum at q = 1', () => {
    expect([quantile(sorted, 0), quantile(sorted, 1)]).toEqual([10, 40]);
  });

  it('answers the only sample of a single-sample set for any q', () => {
    expect([0, 0.5, 0.999, 1].map((q) => quantile(samples(7), q))).toEqual([7, 7, 7, 7]);
  });

  it('answers NaN when there are no samples', () => {
    expect(quantile(samples(), 0.5)).toBeNaN();
  });
});

describe('sortedCopy', () => {
  it('sorts numerically, not as text, and leaves its input alone', () => {
    const input = samples(10, 9, 100, -1);
    expect(Array.from(sortedCopy(input))).toEqual([-1, 9, 10, 100]);
    expect(Array.from(input)).toEqual([10, 9, 100, -1]);
  });
});

describe('summarize', () => {
  it('summarizes unsorted samples with exact nearest-rank percentiles', () => {
    // 1..1000 in a scrambled order (7919 is coprime with 1000).
    const scrambled = Float64Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) + 1);
    expect(scrambled[0]).toBe(1);
    expect(scrambled[1]).toBe(920);
    expect(summarize(scrambled)).toEqual({
      count: 1000,
      min: 1,
      mean: 500.5,
      p50: 500,
      p90: 900,
      p99: 990,
      p999: 999,
      max: 1000,
    });
  });

  it('rounds every figure to 3 decimals', () => {
    expect(summarize(samples(2.0004, 1.23456))).toEqual({
      count: 2,
      min: 1.235,
      mean: 1.617, // 1.61748
      p50: 1.235,
      p90: 2,
      p99: 2,
      p999: 2,
      max: 2,
    });
  });

  it('answers a count of 0 and NaN for every figure when there are no samples', () => {
    const { count, ...figures } = summarize(samples());
    expect(count).toBe(0);
    expect(Object.values(figures)).toEqual(Array(7).fill(Number.NaN));
  });
});

describe('mergeSamples', () => {
  it('concatenates the parts in order, empty parts included', () => {
    expect(Array.from(mergeSamples([samples(1, 2), samples(), samples(3)]))).toEqual([1, 2, 3]);
  });

  it('answers an empty array for no parts', () => {
    expect(mergeSamples([]).length).toBe(0);
  });
});

describe('LatencyRecorder', () => {
  const recorded = (...values: number[]) => {
    const recorder = new LatencyRecorder();
    for (const value of values) recorder.record(value);
    return recorder;
  };

  it('keeps every sample in recording order past its initial 1024 slots', () => {
    const values = Array.from({ length: 2500 }, (_, i) => 2500 - i);
    const recorder = recorded(...values);
    expect(recorder.count).toBe(2500);
    expect(Array.from(recorder.values())).toEqual(values);
  });

  it('hands out a copy of its samples, not a view of them', () => {
    const recorder = recorded(1, 2, 3);
    const copy = recorder.values();
    copy[0] = 99;
    recorder.record(4);
    expect(Array.from(copy)).toEqual([99, 2, 3]);
    expect(Array.from(recorder.values())).toEqual([1, 2, 3, 4]);
  });

  it('starts over after reset', () => {
    const recorder = recorded(1, 2, 3);
    recorder.reset();
    expect([recorder.count, recorder.values().length]).toEqual([0, 0]);
    recorder.record(5);
    expect(Array.from(recorder.values())).toEqual([5]);
  });
});
