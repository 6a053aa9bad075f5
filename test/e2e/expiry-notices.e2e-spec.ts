import type { ExpiredNotice } from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

/**
 * "Expired undelivered": an API process holds the sender's stream, a worker
 * purges every second and tells it, through the router, what expired unread.
 */
describe('messages that expire unread', () => {
  let world: TestEnv;
  let api: ServerProcess;
  let worker: ServerProcess;

  beforeAll(async () => {
    world = await createTestEnv({ PURGE_INTERVAL_SECONDS: '1' });
    [api, worker] = await Promise.all([
      startServerProcess(world.env, 'api', await freePort()),
      startServerProcess(world.env, 'worker', 0),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await world?.destroy();
  });

  it('tells the sender’s connected devices, and the status says expired for a week', async () => {
    const alice = await newAccount(api.baseUrl, 'alice');
    const bob = await newAccount(api.baseUrl, 'bob');
    const notices: ExpiredNotice[] = [];
    const stream = await alice.connect({
      onMessage: () => undefined,
      onExpired: (notice) => notices.push(notice),
    });

    const unread = await alice.sendText({ accountId: bob.accountId }, 'never read', {
      ttlSeconds: 1,
    });
    const read = await alice.sendText({ accountId: bob.accountId }, 'read in time', {
      ttlSeconds: 2,
    });
    await bob.ack([read.messageId]);
    const unreadToo = await alice.sendText({ accountId: bob.accountId }, 'never read either', {
      ttlSeconds: 2,
    });

    await waitFor('both expired-unread notices', () => notices.length >= 2, 20_000);
    expect(notices).toEqual([
      { messageId: unread.messageId, deviceIds: [bob.deviceId] },
      { messageId: unreadToo.messageId, deviceIds: [bob.deviceId] },
    ]);

    // The message itself is purged; its status still answers, saying who never got it.
    const { rowCount } = await world.pool.query('SELECT 1 FROM messages WHERE id = $1', [
      unread.messageId,
    ]);
    expect(rowCount).toBe(0);
    expect(await alice.messageStatus(unread.messageId)).toEqual({
      devices: 1,
      delivered: 0,
      pending: 0,
      deliveredDevices: [],
      pendingDevices: [],
      undelivered: [],
      expired: [bob.deviceId],
    });
    // Not the sender's: a stranger gets 404 as for any message not theirs.
    await expect(bob.messageStatus(unread.messageId)).rejects.toMatchObject({ status: 404 });
    await stream.close();
  }, 60_000);
});
