import { useRedisWorld } from '../../test/support/redis-world.js';
import { loadEnv } from '../config/env.js';
import { DeviceQueues } from './device-queues.js';

describe('DeviceQueues on Redis', () => {
  const world = useRedisWorld('queues');
  let queues: DeviceQueues;

  beforeAll(() => {
    queues = new DeviceQueues(
      world.redis,
      world.keys,
      loadEnv({ ...process.env, MAX_PENDING_MESSAGES_PER_DEVICE: '3' }),
    );
  });

  it('releases of many devices at once each free their own places, twice for one device counted twice', async () => {
    for (let i = 0; i < 3; i++) await queues.reserve(['phone', 'laptop', 'tablet'], 100);
    expect(await queues.reserve(['phone', 'laptop', 'tablet'], 100)).toEqual(
      new Set(['phone', 'laptop', 'tablet']),
    );

    // As the acks of a message to a group come in: many devices in one turn.
    await Promise.all([
      queues.released('phone', 1),
      queues.released('laptop', 3),
      queues.released('phone', 1),
    ]);

    // The phone has two places again, the laptop three, the tablet none.
    const fullEachTime = [];
    for (let i = 0; i < 4; i++)
      fullEachTime.push([...(await queues.reserve(['phone', 'laptop', 'tablet'], 100))].sort());
    expect(fullEachTime).toEqual([
      ['tablet'],
      ['tablet'],
      ['phone', 'tablet'],
      ['laptop', 'phone', 'tablet'],
    ]);
  });
});
