/**
 * Monotonic milliseconds (CLOCK_MONOTONIC, sub-microsecond resolution). The
 * clock is system-wide on Linux, so values taken in different processes of
 * one machine can be subtracted: that is how a frame's send→receive time is
 * measured between a sender process and a receiver process.
 */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Wall-clock epoch milliseconds with sub-millisecond resolution (for server timestamps). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check` is true, polling; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
