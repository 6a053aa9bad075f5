import type { SupernodeClient } from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { beginLateMessage } from '../support/late-commit.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('the inbox never skips or reorders', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  /** Reads and acks Bob's inbox in small pages until `count` messages came; returns their texts in order. */
  async function drainInbox(
    bob: SupernodeClient,
    count: number,
    sendersDone: () => boolean,
  ): Promise<string[]> {
    const received: string[] = [];
    while (received.length < count) {
      const page = await bob.fetchInbox(7);
      for (const message of page.messages)
        received.push(((await bob.decrypt(message)).content as { text: string }).text);
      await bob.ack(page.messages.map((message) => message.messageId));
      if (page.messages.length === 0 && sendersDone() && received.length < count) {
        throw new Error(`inbox empty after all sends with ${received.length} of ${count}`);
      }
    }
    return received;
  }

  it('with four concurrent senders and a reader acking as it goes, every message comes once and each sender’s in order', async () => {
    const bob = await newAccount(world.baseUrl, 'bob');
    const senders = await Promise.all(
      [1, 2, 3, 4].map((index) => newAccount(world.baseUrl, `sender${index}`)),
    );
    const perSender = 50;
    let finished = 0;
    const sending = Promise.all(
      senders.map(async (sender, senderIndex) => {
        for (let index = 0; index < perSender; index++)
          await sender.sendText({ accountId: bob.accountId }, `${senderIndex}:${index}`);
        finished++;
      }),
    );
    const received = await drainInbox(
      bob,
      senders.length * perSender,
      () => finished === senders.length,
    );
    await sending;

    expect(new Set(received).size).toBe(received.length);
    expect(received).toHaveLength(senders.length * perSender);
    for (let senderIndex = 0; senderIndex < senders.length; senderIndex++) {
      const fromSender = received.filter((text) => text.startsWith(`${senderIndex}:`));
      expect(fromSender).toEqual(
        Array.from({ length: perSender }, (_unused, index) => `${senderIndex}:${index}`),
      );
    }
    expect((await bob.fetchInbox()).messages).toEqual([]);
  }, 60_000);

  it('a message that commits after a later one was read and acked is still delivered (no "after id N" skip)', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    // A first send teaches the SDK Bob's device and is the template of the late copy.
    const warmUp = await alice.sendText({ accountId: bob.accountId }, 'warm-up');
    const late = await beginLateMessage(world.pool, bob.deviceId, warmUp.messageId);
    await bob.ack([warmUp.messageId]);

    // A later message is accepted, read and acked while the earlier one is uncommitted.
    const later = await alice.sendText({ accountId: bob.accountId }, 'later');
    expect((await bob.fetchInbox()).messages.map((message) => message.messageId)).toEqual([
      later.messageId,
    ]);
    await bob.ack([later.messageId]);
    const laterSeq = Number(
      (await world.pool.query('SELECT seq FROM messages WHERE id = $1', [later.messageId])).rows[0]
        .seq,
    );
    expect(late.seq).toBeLessThan(laterSeq);

    await late.commit();
    expect((await bob.fetchInbox()).messages.map((message) => message.messageId)).toEqual([
      late.messageId,
    ]);
  });

  it('pages come oldest first with more=true until the last', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    for (let index = 0; index < 250; index++)
      await alice.sendText({ accountId: bob.accountId }, `n${index}`);
    const pages: { size: number; more: boolean; first: string }[] = [];
    for (;;) {
      const page = await bob.fetchInbox(100);
      pages.push({
        size: page.messages.length,
        more: page.more,
        first: ((await bob.decrypt(page.messages[0])).content as { text: string }).text,
      });
      await bob.ack(page.messages.map((message) => message.messageId));
      if (!page.more) break;
    }
    expect(pages).toEqual([
      { size: 100, more: true, first: 'n0' },
      { size: 100, more: true, first: 'n100' },
      { size: 50, more: false, first: 'n200' },
    ]);
  }, 60_000);
});
