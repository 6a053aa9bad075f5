/**
 * Monotonic milliseconds (CLOCK_MONOTONIC, sub-microsecond resolution). The
 * clock is system-wide on Linux, so values taken in different processes of
 * one machine can be subtracted: that is how a frame's send→receive time is
 * measured between a sender process and a receiver process.
 */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

// The wall clock's offset from the monotonic one, read again every second:
// a process's performance.timeOrigin is fixed at its start, so once the host
// steps its wall clock (a VM's clock sync did, in the middle of a run)
// timeOrigin + now() no longer matches the time PostgreSQL stamps, and
// accepted→frame came out negative.
const ANCHOR_EVERY_MS = 1000;
let wallOffsetMs = 0;
let anchoredAtMs = Number.NEGATIVE_INFINITY;

function anchorWallClock(): void {
  // Date.now() moves in whole milliseconds: at the moment it ticks, it is exact.
  const before = Date.now();
  let wall = Date.now();
  while (wall === before) wall = Date.now();
  anchoredAtMs = performance.now();
  wallOffsetMs = wall - anchoredAtMs;
}

/** Wall-clock epoch milliseconds with sub-millisecond resolution (for server timestamps). */
export function epochMs(): number {
  const now = performance.now();
  if (now - anchoredAtMs > ANCHOR_EVERY_MS) anchorWallClock();
  return wallOffsetMs + performance.now();
}

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
