import { useRedisWorld } from '../../test/support/redis-world.js';
import { followsDirectly, NO_NOTICE_YET, NoticeNumbers } from './notice-numbers.js';

describe('NoticeNumbers on Redis', () => {
  const world = useRedisWorld('notice');
  let numbers: NoticeNumbers;

  beforeAll(() => {
    numbers = new NoticeNumbers(world.redis, world.keys);
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
      await world.redis.del(world.keys.key('notice', 'tablet'));
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
