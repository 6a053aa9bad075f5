/** Times a run's steps: `timed(step, work)` runs `work` and keeps its duration in `ms[step]` (whole ms, failed or not). */
export function stepTimer<Step extends string>() {
  const ms = {} as Record<Step, number>;
  const timed = async <T>(step: Step, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      ms[step] = Math.round(performance.now() - started);
    }
  };
  return { ms, timed };
}
