import { randomUUID } from 'node:crypto';
import type { SupernodeClient } from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { tableCounts } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

const DAY_SECONDS = 24 * 3600;
const MESSAGE_TABLES = [
  'messages',
  'message_client_ids',
  'message_bodies',
  'deliveries',
  'fanout_pending',
];

describe('an ack costs its ids, not their square', () => {
  let world: TestApp;

  beforeAll(async () => {
    // Every statement is cancelled after 1 s: an ack of 1,000 ids whose cost
    // grew with the ids squared (times the partitions) took several seconds.
    world = await startTestApp({ DATABASE_STATEMENT_TIMEOUT_MS: '1000' });
  });

  afterAll(async () => {
    await world.close();
  });

  it('1,000 ids that are not the device’s are answered 200 with nothing acked, and its own still ack', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    // Pending for Bob across a dozen expiry days (a partition each).
    const sent: string[] = [];
    for (let day = 1; day <= 12; day++) {
      const accepted = await alice.sendText({ accountId: bob.accountId }, `day ${day}`, {
        ttlSeconds: day * DAY_SECONDS - 60,
      });
      sent.push(accepted.messageId);
    }
    const foreign = Array.from({ length: 1000 }, () => randomUUID());

    const strangerAck = await rawCall(bob, 'POST', '/v1/inbox/ack', { messageIds: foreign });
    expect(strangerAck).toMatchObject({ status: 200, body: { acked: 0 } });
    // Another account's message ids are foreign to Bob too.
    const alicesOwn = await rawCall(alice, 'POST', '/v1/inbox/ack', { messageIds: sent });
    expect(alicesOwn).toMatchObject({ status: 200, body: { acked: 0 } });
    expect((await bob.fetchInbox(100)).messages).toHaveLength(12);

    const mixed = [...sent, ...foreign.slice(sent.length)];
    const ownAck = await rawCall(bob, 'POST', '/v1/inbox/ack', { messageIds: mixed });
    expect(ownAck).toMatchObject({ status: 200, body: { acked: 12 } });
    expect((await bob.fetchInbox(100)).messages).toHaveLength(0);
  });
});

describe('sends while PostgreSQL cannot take them', () => {
  let world: TestApp;

  beforeAll(async () => {
    world = await startTestApp({ DATABASE_STATEMENT_TIMEOUT_MS: '500', INGEST_QUEUE_LIMIT: '2' });
  });

  afterAll(async () => {
    await world.close();
  });

  async function rawSend(sender: SupernodeClient, body: unknown) {
    const response = await fetch(new URL('/v1/messages', sender.baseUrl), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${sender.currentToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as { code?: string; detail?: string },
    };
  }

  it('are refused with 503 and Retry-After (timed out, or shed past the queue bound), store nothing, and succeed once it can', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const bobDevices = (await alice.devicesOf(bob.accountId)).devices;
    await alice.sendText({ accountId: bob.accountId }, 'before the lock');
    // Its fan-out mark goes shortly after: counted once it has.
    await waitFor('the fan-out to finish', async () => {
      const { fanout_pending } = await tableCounts(world.pool, ['fanout_pending']);
      return fanout_pending === 0;
    });
    const before = await tableCounts(world.pool, MESSAGE_TABLES);

    // Every send claims its client message id in this table first.
    const locker = await world.pool.connect();
    let answers: Awaited<ReturnType<typeof rawSend>>[];
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE message_client_ids IN ACCESS EXCLUSIVE MODE');
      answers = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          rawSend(
            alice,
            sealedSend(alice, { accountId: bob.accountId }, bobDevices, `locked ${index}`),
          ),
        ),
      );
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }

    for (const answer of answers) {
      expect(answer).toMatchObject({
        status: 503,
        contentType: expect.stringMatching(/^application\/problem\+json/),
        body: { code: 'service_unavailable' },
      });
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    }
    // Two statements wait on the lock and two sends wait for them; the rest
    // are refused at once rather than queued.
    expect(answers.filter((answer) => /waiting/.test(answer.body.detail ?? ''))).not.toHaveLength(
      0,
    );
    expect(await tableCounts(world.pool, MESSAGE_TABLES)).toEqual(before);

    const after = await alice.sendText({ accountId: bob.accountId }, 'after the lock');
    const inbox = await bob.fetchInbox(100);
    expect(inbox.messages.map((message) => message.messageId)).toContain(after.messageId);
    expect(inbox.messages).toHaveLength(2);
  });
});
