import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteRedisPrefix } from '../../test/support/test-env.js';
import { loadEnv } from '../config/env.js';
import { RedisKeys } from '../redis/redis.module.js';
import { followsDirectly, NO_NOTICE_YET, NoticeNumbers } from './notice-numbers.js';

describe('NoticeNumbers on Redis', () => {
  const env = loadEnv(process.env);
  const prefix = `snt_notice_${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let numbers: NoticeNumbers;

  beforeAll(() => {
    redis = new Redis(env.REDIS_URL);
    numbers = new NoticeNumbers(redis, new RedisKeys(prefix));
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisPrefix(env.REDIS_URL, prefix);
  });

  it('numbers each device on its own, one after the other', async () => {
    expect(await numbers.last('phone')).toEqual(NO_NOTICE_YET);
    const [phoneFirst, laptopFirst] = await numbers.take(['phone', 'laptop']);
    const [phoneSecond] = await numbers.take(['phone']);
    expect(followsDirectly(NO_NOTICE_YET, phoneFirst)).toBe(true);
    expect(followsDirectly(NO_NOTICE_YET, laptopFirst)).toBe(true);
    expect(followsDirectly(phoneFirst, phoneSecond)).toBe(true);
    expect(await numbers.last('phone')).toEqual(phoneSecond);
  });

  it('a counter Redis lost begins again under a new epoch, so its numbers never pass for the old ones', async () => {
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push((await numbers.take(['tablet']))[0]);
    const epochs = new Set<string>();
    for (let lost = 0; lost < 3; lost++) {
      await redis.del(`${prefix}:notice:tablet`);
      const again = [];
      for (let i = 0; i < 4; i++) again.push((await numbers.take(['tablet']))[0]);
      expect(again.map((notice) => notice.n)).toEqual([1, 2, 3, 4]);
      // The fourth number of the new counter comes right after the third of the old one: still no match.
      expect(followsDirectly(seen[2], again[3])).toBe(false);
      epochs.add(again[0].epoch);
      seen.splice(0, seen.length, ...again);
    }
    expect(epochs.size).toBe(3);
  });
});
