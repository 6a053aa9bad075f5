import { growthOf, type Point } from './growth.js';

const every10s = (minutes: number, valueAt: (t: number) => number): Point[] =>
  Array.from({ length: minutes * 6 + 1 }, (_, index) => ({
    t: index * 10,
    value: valueAt(index * 10),
  }));

describe('growthOf', () => {
  const window = { warmupS: 120, windowS: 60 };

  it('passes a quantity that climbs during the warm-up and then levels off, with noise', () => {
    const rss = every10s(30, (t) => (t < 120 ? 100 + t / 2 : 160 + ((t / 10) % 3)));
    const result = growthOf(rss, window)!;
    expect(result.passed).toBe(true);
    expect(result.growth).toBeLessThan(0.02);
  });

  it('fails a quantity that keeps growing after the warm-up (a leak), however slowly', () => {
    // From 100 to 115 over 28 minutes: 15%.
    const leaking = every10s(30, (t) => 100 + (t / 1800) * 15);
    const result = growthOf(leaking, window)!;
    expect(result.passed).toBe(false);
    expect(result.growth).toBeGreaterThan(0.1);
  });

  it('lets a quantity near zero move within its slack, but not past it', () => {
    const queue = every10s(10, (t) => (t > 500 ? 40 : 2));
    expect(growthOf(queue, { ...window, slack: 100 })!.passed).toBe(true);
    expect(growthOf(queue, { ...window, slack: 10 })!.passed).toBe(false);
  });

  it('gives no verdict on a run too short to have a window after the warm-up and one at the end', () => {
    expect(
      growthOf(
        every10s(3, () => 1),
        window,
      ),
    ).toBeUndefined();
  });
});
