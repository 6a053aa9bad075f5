import { MessagesService } from '../../src/messages/messages.service.js';
import { PurgeProcessor } from '../../src/retention/purge.processor.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

describe('expiry and retention', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({ PURGE_INTERVAL_SECONDS: '1' });
  });
  afterAll(() => world.close());

  const messageRow = async (messageId: string) =>
    (
      await world.pool.query(
        `SELECT (SELECT count(*)::int FROM message_bodies b WHERE b.message_id = m.id) AS bodies, m.pending_count
         FROM messages m WHERE m.id = $1`,
        [messageId],
      )
    ).rows[0] as { bodies: number; pending_count: number } | undefined;

  it('an expired message is never served, and the scheduled purge deletes it with its deliveries', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const short = await alice.sendText({ accountId: bob.accountId }, 'gone soon', {
      ttlSeconds: 1,
    });
    await alice.sendText({ accountId: bob.accountId }, 'stays', { ttlSeconds: 3600 });
    expect(new Date(short.expiresAt).getTime() - new Date(short.acceptedAt).getTime()).toBe(1000);

    await waitFor('expiry', () => Date.now() > new Date(short.expiresAt).getTime() + 50);
    expect((await bob.fetchInbox()).messages.map((message) => message.messageId)).not.toContain(
      short.messageId,
    );
    // No direct call: the BullMQ job scheduler runs the purge every second.
    await waitFor('purge', async () => (await messageRow(short.messageId)) === undefined, 10_000);
    const deliveries = await world.pool.query('SELECT 1 FROM deliveries WHERE message_id = $1', [
      short.messageId,
    ]);
    expect(deliveries.rowCount).toBe(0);
    expect((await bob.sync()).map((message) => (message.content as { text: string }).text)).toEqual(
      ['stays'],
    );
  });

  it('a body is deleted as soon as every device has acked it; the row stays for its status until expiry', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const aliceLaptop = await linkDevice(alice, 'laptop');
    const bob = await newAccount(world.baseUrl, 'bob');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'read by all');
    await bob.sync();
    expect(await messageRow(sent.messageId)).toEqual({ bodies: 1, pending_count: 1 });
    await aliceLaptop.sync();
    expect(await messageRow(sent.messageId)).toEqual({ bodies: 0, pending_count: 0 });
    expect(await alice.messageStatus(sent.messageId)).toMatchObject({
      devices: 2,
      delivered: 2,
      pending: 0,
    });
  });
});

describe('acks of many devices at once', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({ PURGE_INTERVAL_SECONDS: '3600' });
  });
  afterAll(() => world.close());

  it('a group message acked by every device at the same moment is counted off exactly once per device', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const members = await Promise.all(
      Array.from({ length: 12 }, (_, index) => newAccount(world.baseUrl, `member${index}`)),
    );
    const conversationId = await alice.createConversation(members.map((m) => m.accountId));
    const sent = await alice.sendText({ conversationId }, 'to everyone');
    const inboxes = await Promise.all(members.map((member) => member.fetchInbox()));
    expect(inboxes.map((inbox) => inbox.messages[0]?.messageId)).toEqual(
      members.map(() => sent.messageId),
    );
    // Called in one turn of the event loop, so that they share one batch; the
    // first device acks twice, and counts once.
    const messages = world.app.get(MessagesService);
    const acked = await Promise.all(
      [...members, members[0]].map((member) => messages.ack(member.deviceId, [sent.messageId])),
    );
    expect(acked).toEqual([...members.map(() => 1), 0]);
    expect(await alice.messageStatus(sent.messageId)).toMatchObject({
      devices: members.length,
      delivered: members.length,
      pending: 0,
    });
    const row = await world.pool.query(
      `SELECT m.pending_count, (SELECT count(*)::int FROM message_bodies b WHERE b.message_id = m.id) AS bodies
         FROM messages m WHERE m.id = $1`,
      [sent.messageId],
    );
    expect(row.rows[0]).toEqual({ pending_count: 0, bodies: 0 });
  });
});

describe('the purge, without the scheduler racing it', () => {
  let quiet: TestApp;
  beforeAll(async () => {
    quiet = await startTestApp({ PURGE_INTERVAL_SECONDS: '3600' });
  });
  afterAll(() => quiet.close());

  it('the purge works in bounded batches until every expired message is gone', async () => {
    const alice = await newAccount(quiet.baseUrl, 'alice');
    const bob = await newAccount(quiet.baseUrl, 'bob');
    for (let index = 0; index < 12; index++)
      await alice.sendText({ accountId: bob.accountId }, `m${index}`);
    await quiet.pool.query(
      "UPDATE messages SET expires_at = now() - interval '1 second' WHERE sender_device_id = $1",
      [alice.deviceId],
    );
    const messages = quiet.app.get(MessagesService);
    // One batch deletes at most its size; the purge loops until a batch comes back short.
    expect(await messages.purgeExpired(5, 1)).toBe(5);
    expect(await messages.purgeExpired(5)).toBe(7);
    expect((await quiet.app.get(PurgeProcessor).purgeNow()).messages).toBe(0);
    const left = await quiet.pool.query(
      'SELECT count(*)::int AS n FROM messages WHERE sender_device_id = $1',
      [alice.deviceId],
    );
    expect(left.rows[0].n).toBe(0);
  });
});
