import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { JobPayloads } from '../../src/queue/job-payloads.js';
import WebSocket from 'ws';
import { JOBS, QUEUES } from '../../src/queue/queue-names.js';
import { FanoutProducer } from '../../src/sync/fanout.producer.js';
import { aliceAndBobWithTwoDevicesEach, linkDevice, newAccount } from '../factories/accounts.js';
import { beginLateMessage } from '../support/late-commit.js';
import { LiveInbox } from '../support/live-inbox.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

function closeCodeOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}

/**
 * A bare socket on the stream that records the message id of each frame, in
 * order (for messages copied in SQL, which would not decrypt in the SDK).
 */
function recordMessageIds(url: string, token: string): { frames: string[]; socket: WebSocket } {
  const frames: string[] = [];
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  socket.on('message', (data) =>
    frames.push(
      (JSON.parse((data as Buffer).toString('utf8')) as { message: { messageId: string } }).message
        .messageId,
    ),
  );
  return { frames, socket };
}

describe('live delivery over the WebSocket stream', () => {
  let world: TestApp;
  let streamUrl: string;
  beforeAll(async () => {
    world = await startTestApp({ WS_HEARTBEAT_SECONDS: '1' });
    streamUrl = `${world.baseUrl.replace('http', 'ws')}/v1/stream`;
  });
  afterAll(() => world.close());

  it('delivers live to both devices of the recipient and to the sender’s other device', async () => {
    const { alice, aliceLaptop, bob, bobTablet } = await aliceAndBobWithTwoDevicesEach(
      world.baseUrl,
    );
    const inboxes = await Promise.all(
      [bob, bobTablet, aliceLaptop].map((client) => LiveInbox.connect(client)),
    );

    const first = await alice.sendText({ accountId: bob.accountId }, 'live one');
    await alice.sendText({ accountId: bob.accountId }, 'live two');
    for (const inbox of inboxes) {
      await inbox.waitForCount(2);
      expect(inbox.texts()).toEqual(['live one', 'live two']);
    }
    // Handled messages are acked over the socket: nothing stays pending.
    await waitFor(
      'acks from all three devices',
      async () => (await alice.messageStatus(first.messageId)).delivered === 3,
    );
    await Promise.all(inboxes.map((inbox) => inbox.stream.close()));
  });

  it('sends what was pending first, in order, then live messages', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    for (const text of ['one', 'two', 'three'])
      await alice.sendText({ accountId: bob.accountId }, text);
    const inbox = await LiveInbox.connect(bob);
    await alice.sendText({ accountId: bob.accountId }, 'four');
    await inbox.waitForCount(4);
    expect(inbox.texts()).toEqual(['one', 'two', 'three', 'four']);
    await inbox.stream.close();
  });

  it('a device that drops mid-stream gets what it missed on reconnect, and nothing twice', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const inbox = await LiveInbox.connect(bob);
    await alice.sendText({ accountId: bob.accountId }, 'before');
    await inbox.waitForCount(1);
    inbox.stream.dropConnection();
    for (let index = 0; index < 5; index++)
      await alice.sendText({ accountId: bob.accountId }, `missed ${index}`);
    await inbox.waitForCount(6);
    await alice.sendText({ accountId: bob.accountId }, 'after');
    await inbox.waitForCount(7);
    expect(inbox.texts()).toEqual([
      'before',
      'missed 0',
      'missed 1',
      'missed 2',
      'missed 3',
      'missed 4',
      'after',
    ]);
    await inbox.stream.close();
  });

  it('tells the sender’s devices when a recipient device acks', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const aliceInbox = await LiveInbox.connect(alice);
    const sent = await alice.sendText({ accountId: bob.accountId }, 'read me');
    await bob.sync();
    await waitFor('receipt', () => aliceInbox.receipts.length > 0);
    expect(aliceInbox.receipts).toEqual([{ messageId: sent.messageId, deviceId: bob.deviceId }]);
    await aliceInbox.stream.close();
  });

  it('closes a revoked device’s socket with 4403, and refuses a bad token with 4401', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const phone = await linkDevice(alice, 'phone');
    const inbox = await LiveInbox.connect(phone);
    await alice.revokeDevice(phone.deviceId);
    await waitFor('revocation', () => inbox.stream.revoked);
    expect(await closeCodeOf(`${streamUrl}?token=${alice.deviceId}.nonsense`)).toBe(4401);
    expect(await closeCodeOf(streamUrl)).toBe(4401);
  });

  it('refuses bad frames without closing the socket, other sockets, or changing anything', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const carol = await newAccount(world.baseUrl, 'carol');
    const forCarol = await alice.sendText({ accountId: carol.accountId }, 'for carol only');

    const frames: { type: string; code?: string; message?: { messageId: string } }[] = [];
    const raw = new WebSocket(streamUrl, {
      headers: { authorization: `Bearer ${bob.currentToken}` },
    });
    raw.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString('utf8'))));
    await new Promise((resolve) => raw.once('open', resolve));

    raw.send('not json at all');
    raw.send(JSON.stringify({ type: 'subscribe', everything: true }));
    raw.send(JSON.stringify({ type: 'ack', messageIds: ['not-a-uuid'] }));
    raw.send(JSON.stringify({ type: 'ack', messageIds: [forCarol.messageId] }));
    await waitFor(
      'three error frames',
      () => frames.filter((frame) => frame.type === 'error').length === 3,
    );
    expect(frames.map((frame) => frame.code)).toEqual([
      'malformed_frame',
      'invalid_frame',
      'invalid_frame',
    ]);

    // Bob's ack of Carol's message changed nothing: it is still pending for her.
    const pending = await world.pool.query(
      'SELECT count(*)::int AS n FROM deliveries WHERE message_id = $1',
      [forCarol.messageId],
    );
    expect(pending.rows[0].n).toBe(1);
    const carolInbox = await LiveInbox.connect(carol);
    await carolInbox.waitForCount(1);
    expect(carolInbox.texts()).toEqual(['for carol only']);

    // Bob's socket is still open and still gets live messages.
    const toBob = await alice.sendText({ accountId: bob.accountId }, 'still here');
    await waitFor('live message on the raw socket', () =>
      frames.some((frame) => frame.message?.messageId === toBob.messageId),
    );
    expect(raw.readyState).toBe(WebSocket.OPEN);
    raw.close();
    await carolInbox.stream.close();
  });

  it('presence: the directory shows a device reachable while connected, and not after it disconnects', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    // Presence is shown to accounts that share a conversation (directory-privacy.e2e-spec.ts).
    await alice.createConversation([bob.accountId]);
    const onlineOf = async () => (await alice.devicesOf(bob.accountId)).devices[0].online;
    expect(await onlineOf()).toBe(false);
    const inbox = await LiveInbox.connect(bob);
    expect(await onlineOf()).toBe(true);
    await inbox.stream.close();
    await waitFor('presence cleared', async () => (await onlineOf()) === false);
  });

  it('heartbeats drop a connection that stopped answering, and its presence with it', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const raw = new WebSocket(streamUrl, {
      headers: { authorization: `Bearer ${bob.currentToken}` },
    });
    await new Promise((resolve) => raw.once('open', resolve));
    // Presence is shown to accounts that share a conversation.
    await alice.createConversation([bob.accountId]);
    expect((await alice.devicesOf(bob.accountId)).devices[0].online).toBe(true);
    // A client that vanished without closing: it reads nothing, so it answers no ping.
    (raw as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor(
      'dead socket dropped',
      async () => (await alice.devicesOf(bob.accountId)).devices[0].online === false,
      8000,
    );
    raw.terminate();
  });

  it('a message whose handler fails is not acked, and comes again after a reconnect', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    let failNext = true;
    const handled: string[] = [];
    const errors: Error[] = [];
    const stream = await bob.connect({
      onMessage: (message) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        handled.push(message.messageId);
      },
      onError: (error) => errors.push(error),
    });
    const sent = await alice.sendText({ accountId: bob.accountId }, 'retry me');
    await waitFor('handler failure', () => errors.length === 1);
    expect((await alice.messageStatus(sent.messageId)).pending).toBe(1);
    stream.dropConnection();
    await waitFor('redelivery', () => handled.length === 1);
    expect(handled).toEqual([sent.messageId]);
    await waitFor('ack', async () => (await alice.messageStatus(sent.messageId)).delivered === 1);
    await stream.close();
  });

  it('under concurrent senders, a live device gets every message once, each sender’s in send order', async () => {
    const bob = await newAccount(world.baseUrl, 'bob');
    const senders = await Promise.all(
      [1, 2, 3].map((index) => newAccount(world.baseUrl, `sender${index}`)),
    );
    const inbox = await LiveInbox.connect(bob);
    const perSender = 30;
    await Promise.all(
      senders.map(async (sender, senderIndex) => {
        for (let index = 0; index < perSender; index++) {
          await sender.sendText({ accountId: bob.accountId }, `${senderIndex}:${index}`);
        }
      }),
    );
    await inbox.waitForCount(senders.length * perSender);
    const received = inbox.texts();
    expect(new Set(received).size).toBe(received.length);
    for (let senderIndex = 0; senderIndex < senders.length; senderIndex++) {
      const fromSender = received.filter((text) => text.startsWith(`${senderIndex}:`));
      expect(fromSender).toEqual(
        Array.from({ length: perSender }, (_unused, index) => `${senderIndex}:${index}`),
      );
    }
    await inbox.stream.close();
  });

  it('a live socket still gets a message that committed behind what it already received', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const warmUp = await alice.sendText({ accountId: bob.accountId }, 'warm-up');
    const late = await beginLateMessage(world.pool, bob.deviceId, warmUp.messageId);
    const { frames, socket: raw } = recordMessageIds(streamUrl, bob.currentToken ?? '');
    await new Promise((resolve) => raw.once('open', resolve));

    const later = await alice.sendText({ accountId: bob.accountId }, 'later');
    await waitFor('the later message', () => frames.includes(later.messageId));
    await late.commit();
    // What the send path does after its commit: enqueue the message's fan-out.
    await world.app
      .get(FanoutProducer)
      .enqueue([{ messageId: late.messageId, deviceIds: [bob.deviceId] }]);
    await waitFor('the late message', () => frames.includes(late.messageId));
    expect(frames).toEqual([warmUp.messageId, later.messageId, late.messageId]);
    raw.close();
  });

  it('messages accepted together go out in one fan-out job, which routes each of them live', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const warmUp = await alice.sendText({ accountId: bob.accountId }, 'warm-up');
    const { frames, socket: raw } = recordMessageIds(streamUrl, bob.currentToken ?? '');
    await waitFor('the backlog', () => frames.includes(warmUp.messageId));
    // Stored and committed with no fan-out yet, as an insert batch leaves them.
    const stored: string[] = [];
    for (let index = 0; index < 3; index++) {
      const message = await beginLateMessage(world.pool, bob.deviceId, warmUp.messageId);
      await message.commit();
      stored.push(message.messageId);
    }
    const targets = stored.map((messageId) => ({ messageId, deviceIds: [bob.deviceId] }));

    const queue = world.app.get<Queue<JobPayloads[typeof JOBS.fanoutMessage]>>(
      getQueueToken(QUEUES.fanout),
    );
    await queue.pause();
    try {
      await world.app.get(FanoutProducer).enqueue(targets);
      const jobs = (await queue.getWaiting()).filter((job) =>
        JSON.stringify(job.data).includes(stored[0]),
      );
      expect(jobs.map((job) => job.data)).toEqual([{ messages: targets }]);
    } finally {
      await queue.resume();
    }
    await waitFor('all three, live', () => stored.every((id) => frames.includes(id)));
    expect(frames).toEqual([warmUp.messageId, ...stored]);
    raw.close();
  });

  it('a message whose devices are connected here or nowhere goes out with no fan-out job', async () => {
    const { alice, aliceLaptop, bob, bobTablet } = await aliceAndBobWithTwoDevicesEach(
      world.baseUrl,
    );
    const inboxes = await Promise.all(
      [bob, bobTablet, aliceLaptop].map((client) => LiveInbox.connect(client)),
    );
    const queue = world.app.get<Queue<JobPayloads[typeof JOBS.fanoutMessage]>>(
      getQueueToken(QUEUES.fanout),
    );
    const fannedOut = async (messageId: string): Promise<boolean> => {
      const { rows } = await world.pool.query(
        'SELECT 1 FROM fanout_pending WHERE message_id = $1',
        [messageId],
      );
      return rows.length === 0;
    };
    const queuedWith = async (messageId: string): Promise<unknown[]> =>
      (await queue.getWaiting()).filter((job) => JSON.stringify(job.data).includes(messageId));
    // With the queue paused, only the accepting process itself can deliver.
    await queue.pause();
    try {
      const sent = await alice.sendText({ accountId: bob.accountId }, 'held here');
      for (const inbox of inboxes) await inbox.waitForCount(1);
      expect(inboxes.map((inbox) => inbox.texts())).toEqual([
        ['held here'],
        ['held here'],
        ['held here'],
      ]);
      // Marked fanned out in place, so the reconciler will not enqueue it either.
      await waitFor('the fan-out mark to go', () => fannedOut(sent.messageId));
      // By now (the marks gather for 50 ms) a job would have been enqueued.
      expect(await queuedWith(sent.messageId)).toEqual([]);

      // A device that is not connected anywhere needs no fan-out job either
      // (its wake-up push, if it has a subscription, is asked for by the
      // accepting process: test/e2e/push.e2e-spec.ts).
      await inboxes[1].stream.close();
      await waitFor('the tablet offline', async () => {
        // (Bob asks: presence is shown to the account itself and its conversation partners.)
        const devices = (await bob.devicesOf(bob.accountId)).devices;
        return devices.find((device) => device.deviceId === bobTablet.deviceId)?.online === false;
      });
      const second = await alice.sendText({ accountId: bob.accountId }, 'tablet asleep');
      await inboxes[0].waitForCount(2);
      await waitFor('the fan-out mark to go', () => fannedOut(second.messageId));
      expect(await queuedWith(second.messageId)).toEqual([]);
    } finally {
      await queue.resume();
      await Promise.all(inboxes.map((inbox) => inbox.stream.close()));
    }
  });

  it('a backlog of several pages comes whole, once each, in acceptance order', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const total = 2_300; // more than two pages of the stream's reads
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) await alice.sendText({ accountId: bob.accountId }, `m${next++}`);
      }),
    );
    const accepted = await world.pool.query<{ message_id: string }>(
      'SELECT message_id FROM deliveries WHERE device_id = $1 ORDER BY message_seq',
      [bob.deviceId],
    );
    expect(accepted.rowCount).toBe(total);

    const inbox = await LiveInbox.connect(bob);
    await inbox.waitForCount(total, 30_000);
    expect(inbox.messages.map((message) => message.messageId)).toEqual(
      accepted.rows.map((row) => row.message_id),
    );
    await inbox.stream.close();
  }, 60_000);
});
