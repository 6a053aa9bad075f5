import { retryAfterMs } from './push-sender.js';
import { pushBackoff } from './push.processor.js';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');

  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Thu, 03 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    // A date in the past means now.
    expect(retryAfterMs('Thu, 03 Dec 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
  });
});

describe('pushBackoff', () => {
  it('grows exponentially from a second without Retry-After, up to five minutes', () => {
    expect([1, 2, 3, 4].map((attempt) => pushBackoff(attempt))).toEqual([1000, 2000, 4000, 8000]);
    expect(pushBackoff(30, 'push', new Error('socket hang up'))).toBe(5 * 60_000);
  });
});
