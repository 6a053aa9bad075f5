import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { type CallSignal, type ReceivedMessage, SupernodeClient } from '@supernode/client';
import { turnCredential } from '../../src/calls/turn-credentials.service.js';
import { QUEUES, bullPrefix } from '../../src/queue/queue-names.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { type Coturn, startCoturn } from '../support/coturn.js';
import { LiveInbox } from '../support/live-inbox.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

const TURN_SECRET = 'supernode-test-turn-secret-0123';

/**
 * Ephemeral sends, call signalling and TURN credentials, across two API
 * processes (A with a TURN server configured, B without) and a worker.
 */
describe('calls: ephemeral sends, signalling and TURN', () => {
  let world: TestEnv;
  let coturn: Coturn;
  let apiA: ServerProcess;
  let apiB: ServerProcess;
  let worker: ServerProcess;

  beforeAll(async () => {
    coturn = await startCoturn(TURN_SECRET);
    world = await createTestEnv();
    const turn = { TURN_URLS: coturn.url, TURN_SECRET };
    [apiA, apiB, worker] = await Promise.all([
      startServerProcess(world.env, 'api', await freePort(), turn),
      startServerProcess(world.env, 'api', await freePort()),
      startServerProcess(world.env, 'worker', 0),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([apiA?.stop(), apiB?.stop(), worker?.stop()]);
    await coturn?.stop();
    await world?.destroy();
  });

  const rowsNaming = async (messageId: string): Promise<string[]> => {
    const tables = [
      'messages',
      'message_bodies',
      'deliveries',
      'message_receipts',
      'fanout_pending',
    ];
    const found: string[] = [];
    for (const table of tables) {
      const column = table === 'messages' ? 'id' : 'message_id';
      const { rowCount } = await world.pool.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [
        messageId,
      ]);
      if (rowCount) found.push(table);
    }
    return found;
  };

  const queuedJobs = async (): Promise<number> => {
    let total = 0;
    for (const name of [QUEUES.fanout, QUEUES.push]) {
      const queue = new Queue(name, {
        connection: { url: world.env.REDIS_URL },
        prefix: bullPrefix(world.env.REDIS_PREFIX),
      });
      const counts = await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'completed',
        'failed',
      );
      total += Object.values(counts).reduce((sum, count) => sum + count, 0);
      await queue.close();
    }
    return total;
  };

  it('an ephemeral send reaches the streams open now, on any process, and nothing else keeps it', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bob = await newAccount(apiB.baseUrl, 'bob');
    const bobTablet = await linkDevice(bob, 'tablet');
    const bobLaptop = await linkDevice(bob, 'laptop'); // never connects
    const tabletOnA = await SupernodeClient.fromIdentity(apiA.baseUrl, bobTablet.identity);
    const [phoneInbox, tabletInbox] = await Promise.all([
      LiveInbox.connect(bob),
      LiveInbox.connect(tabletOnA),
    ]);
    const jobsBefore = await queuedJobs();

    const sent = await alice.send(
      { accountId: bob.accountId },
      { type: 'typing', typing: true },
      { ephemeral: true },
    );
    expect(sent.liveDevices).toBe(2);
    await phoneInbox.waitForCount(1);
    await tabletInbox.waitForCount(1);
    for (const inbox of [phoneInbox, tabletInbox]) {
      expect(inbox.messages[0]).toMatchObject({
        messageId: sent.messageId,
        ephemeral: true,
        senderDeviceId: alice.deviceId,
        content: { type: 'typing', typing: true },
      });
    }
    expect(await rowsNaming(sent.messageId)).toEqual([]);
    expect(await queuedJobs()).toBe(jobsBefore);
    expect((await bobLaptop.fetchInbox()).messages).toEqual([]);
    await expect(alice.messageStatus(sent.messageId)).rejects.toMatchObject({ status: 404 });

    // A retry (same clientMessageId) gets the first answer and delivers nothing again:
    // the phone sees the next message, and only it, after the first.
    const retried = await alice.send(
      { accountId: bob.accountId },
      { type: 'typing', typing: true },
      { ephemeral: true, clientMessageId: sent.clientMessageId },
    );
    expect(retried).toEqual(sent);
    await alice.send(
      { accountId: bob.accountId },
      { type: 'typing', typing: false },
      { ephemeral: true },
    );
    await phoneInbox.waitForCount(2);
    expect(phoneInbox.messages.map((message) => message.content)).toEqual([
      { type: 'typing', typing: true },
      { type: 'typing', typing: false },
    ]);

    // With no stream open, nobody gets it, and it is not kept for later.
    await Promise.all([phoneInbox.stream.close(), tabletInbox.stream.close()]);
    await waitFor('bob offline', async () => {
      const answer = await alice.send(
        { accountId: bob.accountId },
        { type: 'ping' },
        { ephemeral: true },
      );
      return answer.liveDevices === 0;
    });
    const reconnected = await LiveInbox.connect(bob);
    await alice.sendText({ accountId: bob.accountId }, 'stored');
    await reconnected.waitForCount(1);
    expect(reconnected.texts()).toEqual(['stored']);
    await reconnected.stream.close();
  });

  it('holds ephemeral sends to the coverage rule and the send limits', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bob = await newAccount(apiA.baseUrl, 'bob');
    const bobDevices = (await alice.devicesOf(bob.accountId)).devices;
    const missing = await rawCall(alice, 'POST', '/v1/messages', {
      ...sealedSend(alice, { accountId: bob.accountId }, []),
      ephemeral: true,
    });
    expect(missing.status).toBe(409);
    expect(missing.body.code).toBe('devices_missing');
    const stale = await rawCall(alice, 'POST', '/v1/messages', {
      ...sealedSend(alice, { accountId: bob.accountId }, [
        ...bobDevices,
        { deviceId: randomUUID(), boxKey: bobDevices[0].boxKey },
      ]),
      ephemeral: true,
    });
    expect(stale.status).toBe(410);
    const both = await rawCall(alice, 'POST', '/v1/messages', {
      ...sealedSend(alice, { accountId: bob.accountId }, bobDevices),
      ephemeral: true,
      urgent: true,
      ttlSeconds: 30,
    });
    expect(both.status).toBe(400);
    const fine = await rawCall(alice, 'POST', '/v1/messages', {
      ...sealedSend(alice, { accountId: bob.accountId }, bobDevices),
      ephemeral: true,
    });
    expect(fine.status).toBe(201);
    expect(fine.body).toMatchObject({ liveDevices: 0 });
  });

  it('carries a call: an urgent invite, then answer, candidates, typing and hang-up live', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bob = await newAccount(apiB.baseUrl, 'bob');
    const received = { alice: [] as ReceivedMessage[], bob: [] as ReceivedMessage[] };
    const aliceStream = await alice.connect({
      onMessage: (message) => void received.alice.push(message),
    });
    const bobStream = await bob.connect({
      onMessage: (message) => void received.bob.push(message),
    });
    const callId = randomUUID();

    const invite = await alice.inviteToCall(
      { accountId: bob.accountId },
      { callId, media: 'audio', offer: { type: 'offer', sdp: 'v=0 offer' } },
    );
    await waitFor('the invite', () => received.bob.length === 1);
    expect(received.bob[0]).toMatchObject({
      messageId: invite.messageId,
      content: { type: 'call-invite', callId },
    });
    expect(received.bob[0].ephemeral).toBeUndefined();
    // Stored until it expires (at most 120 s): a ring outlives no one.
    expect(Date.parse(invite.expiresAt) - Date.parse(invite.acceptedAt)).toBeLessThanOrEqual(
      120_000,
    );

    const signals: Exclude<CallSignal, { type: 'call-invite' }>[] = [
      { type: 'call-answer', callId, answer: { type: 'answer', sdp: 'v=0 answer' } },
      {
        type: 'call-candidate',
        callId,
        candidate: {
          candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      },
    ];
    for (const signal of signals) await bob.signalCall({ accountId: alice.accountId }, signal);
    await bob.sendTyping({ accountId: alice.accountId }, true);
    await alice.signalCall(
      { accountId: bob.accountId },
      { type: 'call-hangup', callId, reason: 'ended' },
    );
    await waitFor(
      'alice has the answer, the candidate and the typing',
      () => received.alice.length === 3,
    );
    await waitFor('bob has the hang-up', () => received.bob.length === 2);
    expect(received.alice.map((message) => [message.content, message.ephemeral])).toEqual([
      [signals[0], true],
      [signals[1], true],
      [{ type: 'typing', typing: true }, true],
    ]);
    expect(received.bob[1]).toMatchObject({
      ephemeral: true,
      content: { type: 'call-hangup', callId },
    });
    await Promise.all([aliceStream.close(), bobStream.close()]);
  });

  it('issues TURN credentials that coturn accepts, and 503 where no TURN server is configured', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const before = Math.floor(Date.now() / 1000);
    const turn = await alice.turnCredentials();
    expect(turn.urls).toEqual([coturn.url]);
    expect(turn.ttlSeconds).toBe(86_400);
    const [expiry, deviceId] = turn.username.split(':');
    expect(deviceId).toBe(alice.deviceId);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + turn.ttlSeconds);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + turn.ttlSeconds);
    expect(turn.credential).toBe(turnCredential(TURN_SECRET, turn.username));

    const relayed = await coturn.allocate(turn.username, turn.credential);
    expect(relayed.ok).toBe(true);
    const forged = await coturn.allocate(
      turn.username,
      turnCredential('not-the-secret-at-all', turn.username),
    );
    expect(forged.ok).toBe(false);
    expect(forged.output).toMatch(/Cannot complete Allocation/);

    const onB = await SupernodeClient.fromIdentity(apiB.baseUrl, alice.identity);
    await expect(onB.turnCredentials()).rejects.toMatchObject({
      status: 503,
      code: 'turn_unavailable',
    });
    const anonymous = await fetch(`${apiA.baseUrl}/v1/calls/turn`);
    expect(anonymous.status).toBe(401);
  }, 60_000);
});
