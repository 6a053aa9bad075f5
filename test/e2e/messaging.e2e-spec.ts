import type { SupernodeClient, ReceivedMessage } from '@supernode/client';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const texts = (messages: ReceivedMessage[]) =>
  messages.map((message) => (message.content as { text: string }).text);

describe('store-and-forward messaging through the SDK', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  describe('Alice with two devices, Bob with one offline device', () => {
    let alicePhone: SupernodeClient;
    let aliceLaptop: SupernodeClient;
    let bob: SupernodeClient;

    beforeAll(async () => {
      alicePhone = await newAccount(world.baseUrl, 'alice');
      aliceLaptop = await linkDevice(alicePhone, 'laptop');
      bob = await newAccount(world.baseUrl, 'bob');
    });

    it('Bob syncs later and decrypts; Alice’s laptop gets her own sent message', async () => {
      const first = await alicePhone.sendText({ accountId: bob.accountId }, 'hello bob');
      await alicePhone.sendText({ accountId: bob.accountId }, 'are you there?');

      expect(texts(await bob.sync())).toEqual(['hello bob', 'are you there?']);
      const laptopCopy = await aliceLaptop.sync();
      expect(texts(laptopCopy)).toEqual(['hello bob', 'are you there?']);
      expect(laptopCopy[0]).toMatchObject({
        messageId: first.messageId,
        senderDeviceId: alicePhone.deviceId,
      });

      // Acked is final: nothing comes back to either device.
      expect(await bob.sync()).toEqual([]);
      expect(await aliceLaptop.sync()).toEqual([]);
    });

    it('gives each message a time-ordered id (UUIDv7) that carries the millisecond it was accepted', async () => {
      const first = await alicePhone.sendText({ accountId: bob.accountId }, 'first');
      const second = await alicePhone.sendText({ accountId: bob.accountId }, 'second');
      const millisecondOf = (messageId: string) =>
        parseInt(messageId.replaceAll('-', '').slice(0, 12), 16);
      for (const sent of [first, second]) {
        expect(sent.messageId[14]).toBe('7'); // the version digit
        expect(
          Math.abs(millisecondOf(sent.messageId) - Date.parse(sent.acceptedAt)),
        ).toBeLessThanOrEqual(1);
      }
      expect(millisecondOf(second.messageId)).toBeGreaterThanOrEqual(
        millisecondOf(first.messageId),
      );
      await bob.sync();
      await aliceLaptop.sync();
    });

    it('the status shows which devices have the message', async () => {
      const sent = await alicePhone.sendText({ accountId: bob.accountId }, 'status?');
      expect(await alicePhone.messageStatus(sent.messageId)).toMatchObject({
        devices: 2,
        delivered: 0,
        pending: 2,
      });
      await bob.sync();
      const status = await alicePhone.messageStatus(sent.messageId);
      expect(status).toMatchObject({
        devices: 2,
        delivered: 1,
        pending: 1,
        pendingDevices: [aliceLaptop.deviceId],
      });
      expect(status.deliveredDevices.map((device) => device.deviceId)).toEqual([bob.deviceId]);
    });
  });

  it('a group of three accounts: every device of every member gets it, the body is stored once', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const bobTablet = await linkDevice(bob, 'tablet');
    const carol = await newAccount(world.baseUrl, 'carol');
    const conversationId = await alice.createConversation([bob.accountId, carol.accountId], 'trio');

    const sent = await alice.sendText({ conversationId }, 'hi all');
    for (const device of [bob, bobTablet, carol]) {
      const received = await device.sync();
      expect(texts(received)).toEqual(['hi all']);
      expect(received[0].conversationId).toBe(conversationId);
    }
    const stored = await world.pool.query('SELECT count(*)::int AS n FROM messages WHERE id = $1', [
      sent.messageId,
    ]);
    expect(stored.rows[0].n).toBe(1);
  });
});
