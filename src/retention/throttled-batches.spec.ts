import { setTimeout as sleep } from 'node:timers/promises';
import { throttledBatches } from './throttled-batches.js';

describe('throttledBatches', () => {
  it('runs until a batch says nothing is left', async () => {
    let left = 3;
    const result = await throttledBatches(10_000, () => Promise.resolve({ more: --left > 0 }));
    expect(result).toEqual({ complete: true });
    expect(left).toBe(0);
  });

  it('pauses after each batch as long as the batch took', async () => {
    const spans: { start: number; end: number }[] = [];
    await throttledBatches(10_000, async () => {
      const start = performance.now();
      await sleep(30);
      spans.push({ start, end: performance.now() });
      return { more: spans.length < 3 };
    });
    for (let index = 1; index < spans.length; index++) {
      const took = spans[index - 1].end - spans[index - 1].start;
      // Timers may fire a millisecond early; never half the batch's time early.
      expect(spans[index].start - spans[index - 1].end).toBeGreaterThanOrEqual(took - 2);
    }
  });

  it('stops with work left once the next pause would pass the budget', async () => {
    let batches = 0;
    const result = await throttledBatches(100, async () => {
      batches++;
      await sleep(30);
      return { more: true };
    });
    expect(result).toEqual({ complete: false });
    // 30 ms of work and 30 of pause each: the budget of 100 ms holds two.
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(2);
  });
});
