import { randomUUID } from 'node:crypto';
import { LegalHoldsService } from '../../src/admin/legal-holds.service.js';
import { InboxService } from '../../src/messages/inbox.service.js';
import { PurgeProcessor } from '../../src/retention/purge.processor.js';
import { PurgeService } from '../../src/retention/purge.service.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { partitionDay, partitionsOf, rowsOf, setExpiry, tableExists } from '../support/expiry.js';
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
    await waitFor(
      'the rest of its rows',
      async () =>
        Object.values(await rowsOf(world.pool, [short.messageId])).every((count) => count === 0),
      10_000,
    );
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
    const inbox = world.app.get(InboxService);
    const acked = await Promise.all(
      [...members, members[0]].map((member) => inbox.ack(member.deviceId, [sent.messageId])),
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

  const DAY_MS = 24 * 3600 * 1000;
  const PARTITIONED = ['messages', 'message_bodies', 'deliveries', 'message_receipts'];
  const NO_ROWS = {
    messages: 0,
    message_bodies: 0,
    deliveries: 0,
    message_receipts: 0,
    message_client_ids: 0,
    fanout_pending: 0,
  };

  const countRows = async (table: string, column: string, id: string) =>
    (
      await quiet.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`,
        [id],
      )
    ).rows[0].n;

  const sendMany = async (count: number) => {
    const alice = await newAccount(quiet.baseUrl, 'alice');
    const aliceLaptop = await linkDevice(alice, 'laptop');
    const bob = await newAccount(quiet.baseUrl, 'bob');
    const ids: string[] = [];
    for (let index = 0; index < count; index++)
      ids.push((await alice.sendText({ accountId: bob.accountId }, `m${index}`)).messageId);
    return { alice, aliceLaptop, bob, ids };
  };

  it('drops the daily partitions of a day that is over, and every row of their messages goes with them', async () => {
    const { bob, ids } = await sendMany(3);
    await bob.sync(); // receipts for bob; the laptop's deliveries (and so the bodies) stay
    const yesterday = new Date(Date.now() - DAY_MS);
    await quiet.pool.query('SELECT ensure_expiry_partitions($1, $1)', [yesterday]);
    await setExpiry(quiet.pool, ids, yesterday);
    const day = partitionDay(yesterday);
    expect(await partitionsOf(quiet.pool, ids)).toEqual([`messages_p${day}`]);
    expect(await rowsOf(quiet.pool, ids)).toMatchObject({
      messages: 3,
      message_bodies: 3,
      deliveries: 3,
      message_receipts: 3,
      message_client_ids: 3,
    });

    const purged = await quiet.app.get(PurgeProcessor).purgeNow();
    // Whole partitions went: nothing was left for the row-by-row path.
    expect(purged).toMatchObject({ droppedPartitions: 4, deletedMessages: 0 });
    // The purge log counts the messages a dropped partition held.
    expect(purged.partitions).toContainEqual(
      expect.objectContaining({ name: `messages_p${day}`, messages: 3 }),
    );
    const logged = await quiet.pool.query<{ details: { messages: number } }>(
      'SELECT details FROM purge_log ORDER BY seq DESC LIMIT 1',
    );
    expect(logged.rows[0].details.messages).toBe(3);
    for (const table of PARTITIONED)
      expect(await tableExists(quiet.pool, `${table}_p${day}`)).toBe(false);
    // The claims are the side-row purge's.
    expect(await rowsOf(quiet.pool, ids)).toEqual({ ...NO_ROWS, message_client_ids: 3 });
    await quiet.app.get(PurgeProcessor).purgeSideRowsNow();
    expect(await rowsOf(quiet.pool, ids)).toEqual(NO_ROWS);
    // Today's partitions and those ahead stay.
    expect(await tableExists(quiet.pool, `messages_p${partitionDay(new Date())}`)).toBe(true);
  });

  it('expired rows of today’s partition are deleted in bounded batches until none is left', async () => {
    const { alice, ids } = await sendMany(12);
    await setExpiry(quiet.pool, ids, new Date(Date.now() - 1000));
    expect(await partitionsOf(quiet.pool, ids)).toEqual([`messages_p${partitionDay(new Date())}`]);
    const purge = quiet.app.get(PurgeService);
    // One batch deletes at most its size; the purge loops until a batch comes back short.
    expect((await purge.purgeExpired(5, 1)).deletedMessages).toBe(5);
    expect((await purge.purgeExpired(5)).deletedMessages).toBe(7);
    expect((await quiet.app.get(PurgeProcessor).purgeNow()).deletedMessages).toBe(0);
    await quiet.app.get(PurgeProcessor).purgeSideRowsNow();
    expect(await rowsOf(quiet.pool, ids)).toEqual(NO_ROWS);
    const left = await quiet.pool.query(
      'SELECT count(*)::int AS n FROM messages WHERE sender_device_id = $1',
      [alice.deviceId],
    );
    expect(left.rows[0].n).toBe(0);
  });

  it('the side-row run deletes expired login challenges, tokens and link codes, and keeps live ones', async () => {
    const alice = await newAccount(quiet.baseUrl, 'alice');
    const bob = await newAccount(quiet.baseUrl, 'bob');
    // Each account has its token; each begins a login and makes a link code.
    for (const client of [alice, bob]) {
      await client.request('POST', '/v1/auth/challenge', { deviceId: client.deviceId });
      await client.createLinkCode();
    }
    // Each kind of secret: its table, and the column and id of its owner.
    const secretTables = (client: { accountId: string; deviceId: string }) =>
      ({
        challenges: ['auth_challenges', 'device_id', client.deviceId],
        tokens: ['auth_tokens', 'device_id', client.deviceId],
        linkCodes: ['link_codes', 'account_id', client.accountId],
      }) as const;
    const secretsOf = async (client: { accountId: string; deviceId: string }) => {
      const counts: Record<string, number> = {};
      for (const [kind, [table, owner, id]] of Object.entries(secretTables(client)))
        counts[kind] = await countRows(table, owner, id);
      return counts;
    };
    const ONE_OF_EACH = { challenges: 1, tokens: 1, linkCodes: 1 };
    expect(await secretsOf(alice)).toEqual(ONE_OF_EACH);
    for (const [table, owner, id] of Object.values(secretTables(alice)))
      await quiet.pool.query(
        `UPDATE ${table} SET expires_at = now() - interval '1 second' WHERE ${owner} = $1`,
        [id],
      );

    const run = await quiet.app.get(PurgeProcessor).purgeSideRowsNow();
    expect(run.secrets).toBeGreaterThanOrEqual(3);
    expect(await secretsOf(alice)).toEqual({ challenges: 0, tokens: 0, linkCodes: 0 });
    expect(await secretsOf(bob)).toEqual(ONE_OF_EACH);
    // Bob's token still opens his inbox.
    expect((await bob.fetchInbox()).messages).toEqual([]);
  });

  it('the side-row purge deletes every expired claim in one run, however many batches that takes', async () => {
    const { alice, ids } = await sendMany(12);
    await setExpiry(quiet.pool, ids, new Date(Date.now() - 1000));
    await quiet.app.get(PurgeService).purgeExpired(100);
    const claims = () =>
      quiet.pool
        .query<{ n: number }>(
          'SELECT count(*)::int AS n FROM message_client_ids WHERE sender_device_id = $1',
          [alice.deviceId],
        )
        .then((result) => result.rows[0].n);
    expect(await claims()).toBe(12);
    // Batches of one: twelve batches and a short one, more than a run once allowed.
    const run = await quiet.app.get(PurgeService).purgeExpiredSideRows(1);
    expect(run).toEqual({ deletedRows: 12, complete: true });
    expect(await claims()).toBe(0);
  });

  it('a message whose day has no partition lands in DEFAULT: served until it expires, then purged', async () => {
    const { bob, ids } = await sendMany(2);
    const [old, late] = ids;
    // No partition is ever made for a day this far back, nor (yet) this far ahead.
    await setExpiry(quiet.pool, [old], new Date('2001-01-01T12:00:00Z'));
    const farAhead = new Date(Date.now() + 400 * DAY_MS);
    await setExpiry(quiet.pool, [late], farAhead);
    expect(await partitionsOf(quiet.pool, ids)).toEqual(['messages_default']);
    // Its day's partitions cannot be made while DEFAULT holds rows of that day: skipped, not failed.
    const created = await quiet.pool.query<{ n: number }>(
      'SELECT ensure_expiry_partitions($1, $1) AS n',
      [farAhead],
    );
    expect(created.rows[0].n).toBe(0);
    expect(await tableExists(quiet.pool, `messages_p${partitionDay(farAhead)}`)).toBe(false);

    expect((await quiet.app.get(PurgeProcessor).purgeNow()).deletedMessages).toBe(1);
    await quiet.app.get(PurgeProcessor).purgeSideRowsNow();
    expect(await rowsOf(quiet.pool, [old])).toEqual(NO_ROWS);
    expect((await bob.fetchInbox()).messages.map((message) => message.messageId)).toEqual([late]);
  });

  it('a revocation that drops the last delivery of a message deletes its body', async () => {
    const alice = await newAccount(quiet.baseUrl, 'alice');
    const bob = await newAccount(quiet.baseUrl, 'bob');
    const bobPhone = await linkDevice(bob, 'phone');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'one left');
    await bob.sync();
    expect(await rowsOf(quiet.pool, [sent.messageId])).toMatchObject({
      message_bodies: 1,
      deliveries: 1,
    });
    await bob.revokeDevice(bobPhone.deviceId);
    expect(await rowsOf(quiet.pool, [sent.messageId])).toMatchObject({
      messages: 1,
      message_bodies: 0,
      deliveries: 0,
      message_receipts: 1,
    });
  });
});

describe('the purge of a day too large for the requests’ statement timeout', () => {
  let strict: TestApp;
  beforeAll(async () => {
    // Requests are cut off at 300 ms; the purge's scans of a whole day are not.
    strict = await startTestApp({
      PURGE_INTERVAL_SECONDS: '3600',
      DATABASE_STATEMENT_TIMEOUT_MS: '300',
    });
  });
  afterAll(() => strict.close());

  it('still records what expired unread and removes the day, however long its scans take', async () => {
    const alice = await newAccount(strict.baseUrl, 'alice');
    const bob = await newAccount(strict.baseUrl, 'bob');
    const ids: string[] = [];
    for (let index = 0; index < 3; index++)
      ids.push((await alice.sendText({ accountId: bob.accountId }, `m${index}`)).messageId);
    await setExpiry(strict.pool, ids, new Date(Date.now() - 1000));
    // A scan that takes a second (here: waiting that long for a table that
    // another transaction holds, as a day of millions of rows takes to read):
    // the legal-hold copy reads every expired row at once. It runs while any
    // account is held (without a hold it is skipped), here one with nothing expired.
    const carol = await newAccount(strict.baseUrl, 'carol');
    await strict.app.get(LegalHoldsService).place(randomUUID(), carol.accountId, 'case 1');
    const holder = await strict.pool.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE held_messages IN ACCESS EXCLUSIVE MODE');
    const released = new Promise((resolve) => setTimeout(resolve, 1000)).then(() =>
      holder.query('COMMIT'),
    );
    try {
      const purged = await strict.app.get(PurgeService).purgeExpired(100);
      expect(purged).toMatchObject({ deletedMessages: 3 });
    } finally {
      await released;
      holder.release();
    }
    // Recorded (by the purge or the recorder's schedule before it) for the sender's status.
    const recorded = await strict.pool.query(
      'SELECT 1 FROM expired_messages WHERE message_id = ANY($1::uuid[])',
      [ids],
    );
    expect(recorded.rowCount).toBe(3);
    expect(await rowsOf(strict.pool, ids)).toMatchObject({ messages: 0, deliveries: 0 });
  });
});
