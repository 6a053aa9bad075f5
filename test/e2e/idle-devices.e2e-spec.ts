import { SupernodeClient } from '@supernode/client';
import { IdleDevicesService } from '../../src/identity/idle-devices.service.js';
import { linkDevice, newAccount, uniqueHandle } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { rawCall } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

describe('idle devices and accounts', () => {
  let world: TestApp;

  beforeAll(async () => {
    // Streams count as "seen" every second here (an hour by default).
    world = await startTestApp({ IDLE_DEVICE_DAYS: '180', STREAM_LAST_SEEN_SECONDS: '1' });
  });
  afterAll(() => world?.close());

  const lastSeenDaysAgo = (deviceId: string, days: number) =>
    world.pool.query(
      `UPDATE devices SET last_seen_at = now() - make_interval(days => $2) WHERE id = $1`,
      [deviceId, days],
    );

  it('unlinks devices not seen for IDLE_DEVICE_DAYS, tells the senders, and deletes accounts left with none', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const tablet = await linkDevice(bob, 'tablet');
    const carolHandle = uniqueHandle('carol');
    const carol = await SupernodeClient.createAccount(world.baseUrl, carolHandle);
    const dave = await newAccount(world.baseUrl, 'dave');
    const toBob = await alice.sendText({ accountId: bob.accountId }, 'for bob');
    const toCarol = await alice.sendText({ accountId: carol.accountId }, 'for carol');

    // The tablet and carol's only device have not been seen for 200 days; bob's
    // phone for 100. Dave's has not either, but holds a stream: that counts as seen.
    await lastSeenDaysAgo(tablet.deviceId, 200);
    await lastSeenDaysAgo(carol.deviceId, 200);
    await lastSeenDaysAgo(bob.deviceId, 100);
    const daveInbox = await LiveInbox.connect(dave);
    await lastSeenDaysAgo(dave.deviceId, 200);
    await waitFor('the stream to count as seen', async () => {
      const { rows } = await world.pool.query<{ recent: boolean }>(
        `SELECT last_seen_at > now() - interval '1 minute' AS recent FROM devices WHERE id = $1`,
        [dave.deviceId],
      );
      return rows[0].recent;
    });

    const run = await world.app.get(IdleDevicesService).unlinkIdle();
    expect(run).toEqual({ devices: 2, accounts: 1 });

    // The tablet is unlinked: gone from bob's devices, its token refused, its message dropped.
    expect((await bob.listDevices()).map((device) => device.deviceId)).toEqual([bob.deviceId]);
    expect((await rawCall(tablet, 'GET', '/v1/inbox')).status).toBe(401);
    expect(await alice.messageStatus(toBob.messageId)).toMatchObject({
      pendingDevices: [bob.deviceId],
      undelivered: [{ deviceId: tablet.deviceId, reason: 'device_idle' }],
    });
    // Carol's account had no other device: it is deleted, and her handle is free.
    expect(await alice.messageStatus(toCarol.messageId)).toMatchObject({
      pendingDevices: [],
      undelivered: [{ deviceId: carol.deviceId, reason: 'device_idle' }],
    });
    await expect(alice.devicesOf(carol.accountId)).rejects.toMatchObject({ status: 404 });
    await SupernodeClient.createAccount(world.baseUrl, carolHandle);
    // Dave, connected, stays.
    expect((await dave.listDevices()).map((device) => device.deviceId)).toEqual([dave.deviceId]);
    await daveInbox.stream.close();

    // Run again: nothing more is idle.
    expect(await world.app.get(IdleDevicesService).unlinkIdle()).toEqual({
      devices: 0,
      accounts: 0,
    });
  });

  it('a device revoked by its account shows as device_revoked in the sender’s status', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const laptop = await linkDevice(bob, 'laptop');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'hello');
    await bob.revokeDevice(laptop.deviceId);
    expect(await alice.messageStatus(sent.messageId)).toMatchObject({
      devices: 2,
      pendingDevices: [bob.deviceId],
      undelivered: [{ deviceId: laptop.deviceId, reason: 'device_revoked' }],
    });
  });
});
