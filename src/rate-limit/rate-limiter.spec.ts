import { useRedisWorld } from '../../test/support/redis-world.js';
import { Problem } from '../common/problem.js';
import { RateLimiter, retryAfterSeconds, slidingCount } from './rate-limiter.js';

describe('sliding-window arithmetic', () => {
  it('weighs the previous window by the part of it still inside the sliding window', () => {
    expect(slidingCount({ previous: 10, current: 2, elapsed: 0 })).toBe(12);
    expect(slidingCount({ previous: 10, current: 2, elapsed: 0.25 })).toBe(9.5);
    expect(slidingCount({ previous: 10, current: 2, elapsed: 1 })).toBe(2);
  });

  it('tells how long until one more hit fits: later in this window, or in the next', () => {
    // 10 last window, 3 now, limit 5, a quarter in: the 4th fits once 9 of the 10 slid out.
    expect(retryAfterSeconds({ previous: 10, current: 3, elapsed: 0.25 }, 5, 60)).toBe(39);
    // This window alone is full: the rest of it, then a third of the next (5 of 5 weighted down to 4).
    expect(retryAfterSeconds({ previous: 0, current: 5, elapsed: 0.5 }, 5, 60)).toBe(30 + 12);
    expect(retryAfterSeconds({ previous: 0, current: 5, elapsed: 0.9999 }, 5, 60)).toBe(13);
  });
});

describe('RateLimiter on Redis', () => {
  const world = useRedisWorld('ratelimit');
  let limiter: RateLimiter;
  const windowStart = Math.ceil(Date.now() / 60_000) * 60_000;

  beforeAll(() => {
    limiter = new RateLimiter(world.redis, world.keys);
  });

  const refusal = (promise: Promise<void>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as Problem,
    );

  it('still refuses just after a window boundary, and lets hits in again as the old ones slide out', async () => {
    const hit = (atMs: number) => refusal(limiter.hit('create', 'addr-1', 3, 60, atMs));
    for (const offset of [-3_000, -2_000, -1_000])
      expect(await hit(windowStart + offset)).toBeUndefined();
    const refused = await hit(windowStart + 1_000);
    expect(refused?.status).toBe(429);
    // 3 hits weighted by 59/60 leave no room until 1/3 of them slid out: 20 s in.
    expect(refused?.headers).toEqual({ 'Retry-After': '19' });
    expect((await hit(windowStart + 19_000))?.status).toBe(429);
    expect(await hit(windowStart + 20_001)).toBeUndefined();
    expect((await hit(windowStart + 20_002))?.status).toBe(429);
  });

  it('does not count refused hits, and keeps subjects apart', async () => {
    const hit = (subject: string, atMs: number) =>
      refusal(limiter.hit('auth', subject, 2, 60, atMs));
    expect(await hit('addr-2', windowStart)).toBeUndefined();
    expect(await hit('addr-2', windowStart)).toBeUndefined();
    for (let i = 0; i < 5; i++) expect((await hit('addr-2', windowStart))?.status).toBe(429);
    expect(await hit('addr-3', windowStart)).toBeUndefined();
    // Refusals left the count at 2: halfway into the next window one hit fits.
    expect(await hit('addr-2', windowStart + 90_001)).toBeUndefined();
  });

  it('gives each window’s counter an expiry, so that counters do not pile up in Redis', async () => {
    await limiter.hit('send', 'device-1', 10, 60, windowStart);
    const key = world.keys.key('ratelimit', 'send', '{device-1}', String(windowStart / 60_000));
    expect(await world.redis.get(key)).toBe('1');
    const ttl = await world.redis.ttl(key);
    // It outlives the next window, where it is the previous count.
    expect(ttl).toBeGreaterThan(60);
    expect(ttl).toBeLessThanOrEqual(121);
  });
});
