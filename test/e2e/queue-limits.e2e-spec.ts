import { PurgeProcessor } from '../../src/retention/purge.processor.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { untilRecordable } from '../support/expiry.js';
import { LiveInbox } from '../support/live-inbox.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

describe('queue limits per device', () => {
  let world: TestApp;

  beforeAll(async () => {
    world = await startTestApp({
      MAX_PENDING_MESSAGES_PER_DEVICE: '3',
      MAX_PENDING_BYTES_PER_DEVICE: '4096',
    });
  });
  afterAll(() => world?.close());

  it('a send reaches the devices with room, names the full one, and the status says so', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const tablet = await linkDevice(bob, 'tablet');
    // The tablet reads (and acks) as messages come; the phone is away.
    const tabletInbox = await LiveInbox.connect(tablet);
    try {
      for (let index = 0; index < 3; index++) {
        const accepted = await alice.sendText({ accountId: bob.accountId }, `m${index}`);
        expect(accepted.undelivered).toBeUndefined();
      }
      await tabletInbox.waitForCount(3);
      await waitFor('the tablet’s acks stored', async () => {
        const { rowCount } = await world.pool.query(
          'SELECT 1 FROM deliveries WHERE device_id = $1',
          [tablet.deviceId],
        );
        return rowCount === 0;
      });

      const overflow = await alice.sendText({ accountId: bob.accountId }, 'one too many');
      expect(overflow.undelivered).toEqual([{ deviceId: bob.deviceId, reason: 'queue_full' }]);
      await tabletInbox.waitForCount(4);
      expect(tabletInbox.texts().at(-1)).toBe('one too many');
      expect(await alice.messageStatus(overflow.messageId)).toMatchObject({
        devices: 1,
        undelivered: [{ deviceId: bob.deviceId, reason: 'queue_full' }],
      });
      // The phone has its three, not the fourth.
      const phone = await bob.fetchInbox();
      expect(phone.messages).toHaveLength(3);

      // Reading makes room again.
      await bob.ack(phone.messages.slice(0, 2).map((message) => message.messageId));
      const after = await alice.sendText({ accountId: bob.accountId }, 'room again');
      expect(after.undelivered).toBeUndefined();
      expect((await bob.fetchInbox()).messages.map((m) => m.messageId)).toContain(after.messageId);
    } finally {
      await tabletInbox.stream.close();
    }
  });

  it('counts bytes too, and a send with no device left with room is still answered and recorded', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const carol = await newAccount(world.baseUrl, 'carol');
    const big = 'x'.repeat(3000);
    expect((await alice.sendText({ accountId: carol.accountId }, big)).undelivered).toBeUndefined();
    const refused = await alice.sendText({ accountId: carol.accountId }, big);
    expect(refused.undelivered).toEqual([{ deviceId: carol.deviceId, reason: 'queue_full' }]);
    expect(await alice.messageStatus(refused.messageId)).toMatchObject({
      devices: 0,
      pendingDevices: [],
      undelivered: [{ deviceId: carol.deviceId, reason: 'queue_full' }],
    });
    // A small one still fits under the bytes.
    expect(
      (await alice.sendText({ accountId: carol.accountId }, 'small')).undelivered,
    ).toBeUndefined();
    expect((await carol.fetchInbox()).messages).toHaveLength(2);
  });

  it('what expires and is purged leaves the queue', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const dave = await newAccount(world.baseUrl, 'dave');
    for (let index = 0; index < 3; index++)
      await alice.sendText({ accountId: dave.accountId }, `short ${index}`, { ttlSeconds: 1 });
    const full = await alice.sendText({ accountId: dave.accountId }, 'full');
    expect(full.undelivered).toEqual([{ deviceId: dave.deviceId, reason: 'queue_full' }]);
    const { rows } = await world.pool.query<{ last: Date }>(
      `SELECT max(expires_at) AS last FROM deliveries WHERE device_id = $1`,
      [dave.deviceId],
    );
    await waitFor('the short ones to expire', async () => {
      const { rows: left } = await world.pool.query<{ left: number }>(
        `SELECT count(*)::int AS left FROM deliveries WHERE device_id = $1 AND expires_at > now()`,
        [dave.deviceId],
      );
      return left[0].left === 0;
    });
    // The purge releases only what the expiry record reached (its cutoff).
    await untilRecordable(world.pool, rows[0].last);
    await world.app.get(PurgeProcessor).purgeNow();
    const fits = await alice.sendText({ accountId: dave.accountId }, 'fits again');
    expect(fits.undelivered).toBeUndefined();
  });
});
