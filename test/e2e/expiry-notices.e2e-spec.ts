import type { ExpiredNotice } from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

/** An API process and a worker on a database of their own, for the enclosing describe. */
function apiAndWorker(settings: Record<string, string>) {
  const running = {} as { world: TestEnv; api: ServerProcess; worker: ServerProcess };
  beforeAll(async () => {
    running.world = await createTestEnv(settings);
    [running.api, running.worker] = await Promise.all([
      startServerProcess(running.world.env, 'api', await freePort()),
      startServerProcess(running.world.env, 'worker', 0),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([running.api?.stop(), running.worker?.stop()]);
    await running.world?.destroy();
  });
  return running;
}

/**
 * "Expired undelivered": an API process holds the sender's stream, a worker
 * records expiries and purges every second, and tells it, through the
 * router, what expired unread.
 */
describe('messages that expire unread', () => {
  const running = apiAndWorker({ PURGE_INTERVAL_SECONDS: '1', EXPIRY_INTERVAL_SECONDS: '1' });

  it('tells the sender’s connected devices, and the status says expired for a week', async () => {
    const alice = await newAccount(running.api.baseUrl, 'alice');
    const bob = await newAccount(running.api.baseUrl, 'bob');
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
    const { rowCount } = await running.world.pool.query('SELECT 1 FROM messages WHERE id = $1', [
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

/**
 * The expiry record runs on its own schedule, seconds apart, well before the
 * purge (an hour here): what expired unread is recorded and told while the
 * message is still stored, and the purge then only removes recorded days.
 */
describe('the expiry record, ahead of the purge', () => {
  const running = apiAndWorker({ PURGE_INTERVAL_SECONDS: '3600', EXPIRY_INTERVAL_SECONDS: '1' });

  it('tells the sender within seconds of the expiry, and an ack after it counts for nothing', async () => {
    const alice = await newAccount(running.api.baseUrl, 'alice');
    const bob = await newAccount(running.api.baseUrl, 'bob');
    const notices: ExpiredNotice[] = [];
    const stream = await alice.connect({
      onMessage: () => undefined,
      onExpired: (notice) => notices.push(notice),
    });
    const sent = await alice.sendText({ accountId: bob.accountId }, 'too late', {
      ttlSeconds: 1,
    });

    await waitFor('the expired-unread notice', () => notices.length >= 1, 20_000);
    expect(notices).toEqual([{ messageId: sent.messageId, deviceIds: [bob.deviceId] }]);
    // Not purged yet (the purge runs hourly here): recorded while still stored.
    const stored = await running.world.pool.query('SELECT 1 FROM messages WHERE id = $1', [
      sent.messageId,
    ]);
    expect(stored.rowCount).toBe(1);
    // Bob's device comes back after the expiry: its ack changes nothing.
    expect(await bob.ack([sent.messageId])).toBe(0);
    expect(await alice.messageStatus(sent.messageId)).toMatchObject({
      delivered: 0,
      deliveredDevices: [],
      expired: [bob.deviceId],
    });
    await stream.close();
  }, 60_000);
});
