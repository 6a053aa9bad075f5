import { newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('the directory shows whether a device is online only to those who share a conversation', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('a conversation partner and the account itself see online; a stranger sees the keys but online null', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const stranger = await newAccount(world.baseUrl, 'mallory');
    const conversationId = await alice.createConversation([bob.accountId]);
    const inbox = await LiveInbox.connect(bob);
    try {
      const { handle } = await bob.devicesOf(bob.accountId);
      const seenBy = async (viewer: typeof alice) => [
        (await viewer.devicesOf(bob.accountId)).devices,
        (await viewer.lookupHandle(handle)).devices,
      ];

      for (const devices of await seenBy(alice))
        expect(devices).toEqual([
          expect.objectContaining({ deviceId: bob.deviceId, online: true }),
        ]);
      for (const devices of await seenBy(bob))
        expect(devices).toEqual([
          expect.objectContaining({ deviceId: bob.deviceId, online: true }),
        ]);
      for (const devices of await seenBy(stranger))
        expect(devices).toEqual([
          expect.objectContaining({
            deviceId: bob.deviceId,
            boxKey: expect.any(String),
            online: null,
          }),
        ]);

      // Once Alice has left their only common conversation, she is a stranger too.
      await alice.removeMember(conversationId, alice.accountId);
      for (const devices of await seenBy(alice))
        expect(devices).toEqual([
          expect.objectContaining({ deviceId: bob.deviceId, online: null }),
        ]);
    } finally {
      await inbox.stream.close();
    }
  });
});
