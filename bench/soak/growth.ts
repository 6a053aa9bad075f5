// The soak's verdict (bench/soak/): a quantity passes when, after the
// warm-up, it stops growing: the mean of its last minute is at most 10% (plus
// a small absolute slack, for quantities that sit near zero) over the mean of
// its first minute after the warm-up.

export interface Point {
  /** Seconds since the load began. */
  t: number;
  value: number;
}

export interface Growth {
  /** Mean over the first window after the warm-up. */
  afterWarmup: number;
  /** Mean over the last window. */
  atEnd: number;
  /** atEnd / afterWarmup − 1 (0 when both are 0). */
  growth: number;
  passed: boolean;
}

export const ALLOWED_GROWTH = 0.1;

export function growthOf(
  points: Point[],
  { warmupS, windowS, slack = 0 }: { warmupS: number; windowS: number; slack?: number },
): Growth | undefined {
  const end = points.at(-1)?.t;
  if (end === undefined || end < warmupS + 2 * windowS) return undefined;
  const mean = (from: number, to: number) => {
    const inside = points.filter((point) => point.t >= from && point.t < to);
    return inside.reduce((sum, point) => sum + point.value, 0) / inside.length;
  };
  const afterWarmup = mean(warmupS, warmupS + windowS);
  const atEnd = mean(end - windowS + 1e-9, end + 1);
  const growth = afterWarmup === 0 ? (atEnd === 0 ? 0 : Infinity) : atEnd / afterWarmup - 1;
  return {
    afterWarmup,
    atEnd,
    growth,
    passed: atEnd <= afterWarmup * (1 + ALLOWED_GROWTH) + slack,
  };
}
