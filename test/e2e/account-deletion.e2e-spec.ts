import { Redis } from 'ioredis';
import { SupernodeClient } from '@supernode/client';
import { linkDevice, newAccount, uniqueHandle } from '../factories/accounts.js';
import { listTables } from '../support/abuse/state.js';
import { LiveInbox } from '../support/live-inbox.js';
import { rawCall } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

/**
 * DELETE /v1/accounts/self. The check of what is left reads the catalog: every
 * table (one added later included) and every Redis key under the test's
 * prefix is searched for the account's and its devices' ids.
 */
describe('account deletion', () => {
  let world: TestApp;

  beforeAll(async () => {
    // A listed push host: the subscription is stored without a DNS look-up.
    world = await startTestApp({ PUSH_ALLOWED_HOSTS: 'push.deletion.test' });
  });
  afterAll(() => world?.close());

  /** Every row of every table that names one of `ids`, as "table: row" lines. */
  async function rowsNaming(ids: string[]): Promise<Map<string, Record<string, unknown>[]>> {
    const found = new Map<string, Record<string, unknown>[]>();
    for (const table of await listTables(world.pool)) {
      const { rows } = await world.pool.query<Record<string, unknown>>(
        `SELECT * FROM "${table}" t WHERE to_jsonb(t)::text ~* $1`,
        [ids.join('|')],
      );
      if (rows.length > 0) found.set(table, rows);
    }
    return found;
  }

  async function redisKeysNaming(ids: string[]): Promise<string[]> {
    const redis = new Redis(world.env.REDIS_URL);
    try {
      const keys = await redis.keys(`${world.env.REDIS_PREFIX}:*`);
      const named: string[] = [];
      for (const key of keys) {
        if (ids.some((id) => key.includes(id))) named.push(key);
        else if ((await redis.type(key)) === 'string') {
          const value = (await redis.get(key)) ?? '';
          if (ids.some((id) => value.includes(id))) named.push(`${key} (value)`);
        }
      }
      return named;
    } finally {
      redis.disconnect();
    }
  }

  it('deletes everything of the account but what it sent that others have not acked', async () => {
    const handle = uniqueHandle('alice');
    const alice = await SupernodeClient.createAccount(world.baseUrl, handle, {
      deviceName: 'phone',
    });
    const laptop = await linkDevice(alice, 'laptop');
    const old = await linkDevice(alice, 'old tablet');
    await alice.revokeDevice(old.deviceId);
    const bob = await newAccount(world.baseUrl, 'bob');
    const carol = await newAccount(world.baseUrl, 'carol');
    const aliceIds = [alice.accountId, alice.deviceId, laptop.deviceId, old.deviceId];

    // What alice has: conversations she owns and is a member of, a link code,
    // a push subscription, messages pending for her, messages she sent,
    // acks she made, an ephemeral send's claim, rate-limit counters, presence.
    const owned = await alice.createConversation([bob.accountId, carol.accountId], 'alice owns');
    const bobs = await bob.createConversation([alice.accountId], 'bob owns');
    await alice.createLinkCode();
    await laptop.registerPush({
      endpoint: 'https://push.deletion.test/alice-laptop',
      keys: {
        p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 3)]).toString('base64url'),
        auth: Buffer.alloc(16, 4).toString('base64url'),
      },
    });
    const firstForAlice = await bob.sendText({ conversationId: bobs }, 'for alice');
    const acked = await bob.sendText({ accountId: alice.accountId }, 'alice reads this');
    const phoneInbox = await LiveInbox.connect(alice);
    await phoneInbox.waitForCount(2);
    const laptopInbox = await LiveInbox.connect(laptop);
    await laptopInbox.waitForCount(2);
    const sent = await alice.sendText({ conversationId: owned }, 'from alice, unread');
    await alice.send(
      { accountId: bob.accountId },
      { type: 'typing', typing: true },
      { ephemeral: true },
    );
    await waitFor('acks stored', async () => {
      const { rowCount } = await world.pool.query(
        'SELECT 1 FROM deliveries WHERE message_id = $1',
        [acked.messageId],
      );
      return rowCount === 0;
    });

    const answer = await fetch(`${world.baseUrl}/v1/accounts/self`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${alice.currentToken}` },
    });
    expect(answer.status).toBe(204);

    // Its streams close with 4403, its token is refused, its handle is free.
    const revoked = (inbox: LiveInbox) =>
      inbox.errors.some((error) => /revoked/.test(error.message)); // the SDK's word for 4403
    await waitFor(
      'both streams closed with 4403',
      () => revoked(phoneInbox) && revoked(laptopInbox),
    );
    expect((await rawCall(alice, 'GET', '/v1/devices')).status).toBe(401);
    const again = await SupernodeClient.createAccount(world.baseUrl, handle);
    expect(again.accountId).not.toBe(alice.accountId);

    // The conversation alice owned is bob's and carol's now, one of them its owner
    // (they joined together); bob's own is bob's alone.
    const inherited = (await bob.getConversation(owned)).members;
    expect(inherited.map((member) => member.accountId).sort()).toEqual(
      [bob.accountId, carol.accountId].sort(),
    );
    expect(inherited.filter((member) => member.role === 'owner')).toHaveLength(1);
    expect((await bob.getConversation(bobs)).members).toEqual([
      { accountId: bob.accountId, role: 'owner' },
    ]);
    // What she sent stays bob's and carol's until they ack it.
    expect((await carol.fetchInbox()).messages.map((m) => m.messageId)).toEqual([sent.messageId]);

    // Nothing else of hers, in any table or Redis key.
    const left = await rowsNaming(aliceIds);
    const allowed: Record<string, (row: Record<string, unknown>) => boolean> = {
      // What she sent: the message, its body, its deliveries to others, its idempotency claim.
      // And the records of messages that stay, gone with each message at its expiry: a
      // message others sent her names her as recipient; her devices' receipts (of bob's
      // messages, and her laptop's of her own) are their senders' status.
      messages: (row) => row.id === sent.messageId || row.sender_account_id === bob.accountId,
      message_bodies: (row) => row.message_id === sent.messageId,
      deliveries: (row) => row.message_id === sent.messageId,
      message_client_ids: (row) => row.message_id === sent.messageId,
      fanout_pending: (row) => row.message_id === sent.messageId,
      // Her devices the senders' messages will never reach (her own laptop, for hers).
      message_undelivered: (row) =>
        [acked.messageId, sent.messageId, firstForAlice.messageId].includes(
          row.message_id as string,
        ) && row.reason === 'account_deleted',
      message_receipts: (row) =>
        [acked.messageId, sent.messageId, firstForAlice.messageId].includes(
          row.message_id as string,
        ),
    };
    const unexpected = [...left].flatMap(([table, rows]) =>
      rows.filter((row) => !allowed[table]?.(row)).map((row) => `${table}: ${JSON.stringify(row)}`),
    );
    expect(unexpected).toEqual([]);
    await waitFor('presence keys gone', async () => (await redisKeysNaming(aliceIds)).length === 0);
  });

  it('needs a valid token and answers 401 without one, changing nothing', async () => {
    const answer = await fetch(`${world.baseUrl}/v1/accounts/self`, { method: 'DELETE' });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });
});
