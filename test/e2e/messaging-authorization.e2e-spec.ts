import { NotFoundError, ForbiddenError } from '@supernode/client';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('who may read, ack and send what', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('nobody acks another device’s inbox, and one device’s ack leaves the other’s inbox alone', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const aliceLaptop = await linkDevice(alice, 'laptop');
    const bob = await newAccount(world.baseUrl, 'bob');
    const mallory = await newAccount(world.baseUrl, 'mallory');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'private');

    expect(await mallory.ack([sent.messageId])).toBe(0);
    expect((await mallory.fetchInbox()).messages).toEqual([]);
    expect(await bob.ack([sent.messageId])).toBe(1);
    // Bob's ack did not touch Alice's laptop copy.
    expect((await aliceLaptop.sync()).map((message) => message.messageId)).toEqual([
      sent.messageId,
    ]);
    expect(await alice.messageStatus(sent.messageId)).toMatchObject({ delivered: 2, pending: 0 });
  });

  it('a non-member cannot send to or read a conversation', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const mallory = await newAccount(world.baseUrl, 'mallory');
    const conversationId = await alice.createConversation([bob.accountId]);
    await expect(mallory.getConversation(conversationId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(mallory.sendText({ conversationId }, 'let me in')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(mallory.addMember(conversationId, mallory.accountId)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const stored = await world.pool.query(
      'SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1',
      [conversationId],
    );
    expect(stored.rows[0].n).toBe(0);
  });

  it('a removed member’s devices are not addressed by later messages', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const carol = await newAccount(world.baseUrl, 'carol');
    const conversationId = await alice.createConversation(
      [bob.accountId, carol.accountId],
      'group',
    );
    await alice.sendText({ conversationId }, 'all three');
    await alice.removeMember(conversationId, carol.accountId);
    await alice.sendText({ conversationId }, 'without carol');

    expect(
      (await carol.sync()).map((message) => (message.content as { text: string }).text),
    ).toEqual(['all three']);
    expect((await bob.sync()).map((message) => (message.content as { text: string }).text)).toEqual(
      ['all three', 'without carol'],
    );
    expect(
      (await alice.getConversation(conversationId)).members
        .map((member) => member.accountId)
        .sort(),
    ).toEqual([alice.accountId, bob.accountId].sort());
  });

  it('members add members; only the owner removes others; anyone may leave', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const carol = await newAccount(world.baseUrl, 'carol');
    const conversationId = await alice.createConversation([bob.accountId]);
    await bob.addMember(conversationId, carol.accountId);
    expect((await carol.getConversation(conversationId)).members).toContainEqual({
      accountId: carol.accountId,
      role: 'member',
    });
    await expect(bob.removeMember(conversationId, carol.accountId)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await carol.removeMember(conversationId, carol.accountId);
    await expect(carol.getConversation(conversationId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('only the sender’s account sees a message’s status', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const aliceLaptop = await linkDevice(alice, 'laptop');
    const bob = await newAccount(world.baseUrl, 'bob');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'mine');
    await expect(aliceLaptop.messageStatus(sent.messageId)).resolves.toMatchObject({ devices: 2 });
    await expect(bob.messageStatus(sent.messageId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a send to a conversation from a non-member stores nothing even with a well-formed body', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const mallory = await newAccount(world.baseUrl, 'mallory');
    const conversationId = await alice.createConversation([bob.accountId]);
    const devices = [
      ...(await mallory.devicesOf(alice.accountId)).devices,
      ...(await mallory.devicesOf(bob.accountId)).devices,
    ];
    const answer = await rawCall(
      mallory,
      'POST',
      '/v1/messages',
      sealedSend(mallory, { conversationId }, devices),
    );
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe('conversation_not_found');
  });
});
