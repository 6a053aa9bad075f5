import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `batch` until it says nothing is left, working at most half the time
 * (after each batch it pauses as long as the batch took, so the requests
 * always have the other half of PostgreSQL) and at most `budgetMs` in all,
 * pauses included. `complete` is false when the budget ran out first.
 */
export async function throttledBatches(
  budgetMs: number,
  batch: () => Promise<{ more: boolean }>,
): Promise<{ complete: boolean }> {
  const started = performance.now();
  for (;;) {
    const batchStarted = performance.now();
    const { more } = await batch();
    if (!more) return { complete: true };
    const batchMs = performance.now() - batchStarted;
    // The pause that follows counts against the budget too.
    if (performance.now() - started + batchMs > budgetMs) return { complete: false };
    await sleep(batchMs);
  }
}
