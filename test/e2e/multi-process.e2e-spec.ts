import { Queue } from 'bullmq';
import { SupernodeClient } from '@supernode/client';
import { createRedis } from '../../src/redis/redis.module.js';
import { QUEUES, bullPrefix } from '../../src/queue/queue-names.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

describe('several processes: two API processes and a worker', () => {
  let world: TestEnv;
  let apiA: ServerProcess;
  let apiB: ServerProcess;

  const started: ServerProcess[] = [];
  const start = async (role: 'api' | 'worker') => {
    const server = await startServerProcess(world.env, role, role === 'api' ? await freePort() : 0);
    started.push(server);
    return server;
  };

  beforeAll(async () => {
    // Heartbeat 1 s: presence of a crashed process's devices expires in 3 s.
    world = await createTestEnv({ WS_HEARTBEAT_SECONDS: '1' });
    // The API processes run no processors: only the worker fans out.
    [apiA, apiB] = await Promise.all([start('api'), start('api'), start('worker')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    await world.destroy();
  });

  it('a message sent through one API process reaches, live, devices connected to the other', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const aliceLaptop = await linkDevice(alice, 'laptop');
    // Bob and Alice's laptop live on process B; Alice sends through process A.
    const bob = await newAccount(apiB.baseUrl, 'bob');
    const laptopOnB = await SupernodeClient.fromIdentity(apiB.baseUrl, aliceLaptop.identity);
    const bobInbox = await LiveInbox.connect(bob);
    const laptopInbox = await LiveInbox.connect(laptopOnB);

    const sent = await alice.sendText({ accountId: bob.accountId }, 'across processes');
    await bobInbox.waitForCount(1);
    await laptopInbox.waitForCount(1);
    expect(bobInbox.messages[0]).toMatchObject({
      messageId: sent.messageId,
      content: { type: 'text', text: 'across processes' },
    });
    expect(laptopInbox.texts()).toEqual(['across processes']);
    // Delivered live, not by a reconnect's catch-up.
    expect([bobInbox.connects, laptopInbox.connects]).toEqual([1, 1]);
    // The directory, asked through A, knows Bob is reachable (presence is shared in Redis);
    // it shows presence to accounts that share a conversation.
    await alice.createConversation([bob.accountId]);
    expect((await alice.devicesOf(bob.accountId)).devices[0]).toMatchObject({
      deviceId: bob.deviceId,
      online: true,
    });
    await Promise.all([bobInbox.stream.close(), laptopInbox.stream.close()]);
  });

  it('a message sent from memory never overtakes an earlier one still on its way through the worker', async () => {
    // Bob's socket is on B. Messages sent through B go out from B's memory;
    // those sent through A wait for the worker, here held back by pausing
    // the queue. Each send waits for the one before it.
    const aliceOnA = await newAccount(apiA.baseUrl, 'alice');
    const aliceOnB = await SupernodeClient.fromIdentity(apiB.baseUrl, aliceOnA.identity);
    const bob = await newAccount(apiB.baseUrl, 'bob');
    const bobInbox = await LiveInbox.connect(bob);
    await aliceOnB.sendText({ accountId: bob.accountId }, 'warm-up, through B');
    await bobInbox.waitForCount(1);
    const connection = createRedis(world.env, { forWorker: true });
    const queue = new Queue(QUEUES.fanout, {
      connection,
      prefix: bullPrefix(world.env.REDIS_PREFIX),
    });
    await queue.pause();
    try {
      await aliceOnA.sendText({ accountId: bob.accountId }, 'first, through A');
      await aliceOnB.sendText({ accountId: bob.accountId }, 'second, through B');
      // B cannot know the first is done with: it reads, and sends both in order.
      await bobInbox.waitForCount(3);
      expect(bobInbox.texts()).toEqual([
        'warm-up, through B',
        'first, through A',
        'second, through B',
      ]);
      await aliceOnB.sendText({ accountId: bob.accountId }, 'third, through B');
      await bobInbox.waitForCount(4);
      expect(bobInbox.texts().slice(1)).toEqual([
        'first, through A',
        'second, through B',
        'third, through B',
      ]);
      expect(bobInbox.connects).toBe(1);
    } finally {
      await queue.resume();
      await queue.close();
      connection.disconnect();
      await bobInbox.stream.close();
    }
  });

  it('a device with sockets on both processes gets a message on each, although the sender’s process holds one of them', async () => {
    // Bob connects through A, then (as after a reconnect whose old socket
    // lingers) through B: presence names B. A holds a socket of every device
    // of the message, but must not skip the fan-out that reaches B.
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bobOnA = await newAccount(apiA.baseUrl, 'bob');
    const bobOnB = await SupernodeClient.fromIdentity(apiB.baseUrl, bobOnA.identity);
    const redis = createRedis(world.env, { forWorker: true });
    const presenceKey = `${world.env.REDIS_PREFIX}:presence:${bobOnA.deviceId}`;
    // One socket's ack covers the device, and the other would then find
    // nothing left to send: each holds its ack until both have the message.
    let onB: LiveInbox | undefined;
    const bothHaveIt = async () => {
      await waitFor('both sockets to have the message', () =>
        Boolean(onA.messages.length > 0 && onB?.messages.length),
      );
    };
    const onA = await LiveInbox.connect(bobOnA, { beforeAck: bothHaveIt });
    try {
      const processA = await waitFor('presence to name A', () => redis.get(presenceKey));
      onB = await LiveInbox.connect(bobOnB, { beforeAck: bothHaveIt });
      await waitFor(
        'presence to name B',
        async () => ![null, processA].includes(await redis.get(presenceKey)),
      );
      await alice.sendText({ accountId: bobOnA.accountId }, 'to both sockets');
      await onA.waitForCount(1);
      await onB.waitForCount(1);
      expect([onA.texts(), onB.texts()]).toEqual([['to both sockets'], ['to both sockets']]);
    } finally {
      await Promise.all([onA.stream.close(), onB?.stream.close()]);
      redis.disconnect();
    }
  });

  it('when a process crashes, its devices fall offline on their own (presence expires)', async () => {
    const alice = await newAccount(apiA.baseUrl, 'alice');
    const bob = await newAccount(apiB.baseUrl, 'bob');
    await alice.createConversation([bob.accountId]);
    const bobInbox = await LiveInbox.connect(bob);
    const onlineOf = async () => (await alice.devicesOf(bob.accountId)).devices[0].online;
    expect(await onlineOf()).toBe(true);
    apiB.child.kill('SIGKILL');
    await waitFor('presence to expire', async () => (await onlineOf()) === false, 10_000);
    // Messages sent meanwhile wait in PostgreSQL for Bob's next sync.
    await alice.sendText({ accountId: bob.accountId }, 'while you were away');
    await bobInbox.stream.close();
    const later = await SupernodeClient.fromIdentity(apiA.baseUrl, bob.identity);
    expect((await later.sync()).map((message) => message.content)).toEqual([
      { type: 'text', text: 'while you were away' },
    ]);
  }, 20_000);
});
