import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import WebSocket from 'ws';
import { AfterCommitWork } from '../../src/common/after-commit.js';
import { JOBS, QUEUES } from '../../src/queue/queue-names.js';
import { SupernodeError } from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { startTestApp } from '../support/test-app.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

// What a deployment does every time it rolls out: SIGTERM to an API process
// that is taking sends and holding streams.
describe('SIGTERM of an API process under load (graceful shutdown)', () => {
  let world: TestEnv;
  let stopping: ServerProcess;
  let staying: ServerProcess;
  let bobInbox: LiveInbox | undefined;

  beforeAll(async () => {
    world = await createTestEnv({ WS_HEARTBEAT_SECONDS: '1' });
    // The staying process also runs the worker (fan-out, the reconciler).
    [stopping, staying] = await Promise.all([
      startServerProcess(world.env, 'api', await freePort()),
      startServerProcess(world.env, 'all', await freePort()),
    ]);
  }, 60_000);

  afterAll(async () => {
    await bobInbox?.stream.close();
    await Promise.all([stopping?.stop(), staying?.stop()]);
    await world?.destroy();
  });

  it('finishes what it accepted, hands on its after-commit work before its pool closes, closes streams with 1001, and answers only 201 or 503', async () => {
    const alice = await newAccount(stopping.baseUrl, 'alice');
    const bob = await newAccount(staying.baseUrl, 'bob');
    bobInbox = await LiveInbox.connect(bob);
    // Alice's own stream is on the process that stops.
    const aliceStream = new WebSocket(`${stopping.baseUrl.replace(/^http/, 'ws')}/v1/stream`, {
      headers: { authorization: `Bearer ${alice.currentToken}` },
    });
    await new Promise((resolve, reject) => {
      aliceStream.once('open', resolve);
      aliceStream.once('error', reject);
    });
    const closeCode = new Promise<number>((resolve) => aliceStream.once('close', resolve));

    const accepted: string[] = [];
    const refused: { code: string; retryAfter: unknown }[] = [];
    const unexpected: string[] = [];
    let connectionErrors = 0;
    let next = 0;
    const TOTAL = 600;
    const sendLoop = async () => {
      while (next < TOTAL) {
        const index = next++;
        try {
          accepted.push(
            (await alice.sendText({ accountId: bob.accountId }, `m${index}`)).messageId,
          );
        } catch (error) {
          if (error instanceof SupernodeError && error.status === 503)
            refused.push({ code: error.code, retryAfter: error.problem.retryAfter });
          else if (error instanceof SupernodeError) unexpected.push(error.message);
          else connectionErrors++; // the process no longer listens: the client goes elsewhere
        }
      }
    };
    const senders = Array.from({ length: 16 }, () => sendLoop());
    await waitFor('sends to be flowing', () => accepted.length >= 100);
    const exited = new Promise<number | null>((resolve) =>
      stopping.child.once('exit', (code) => resolve(code)),
    );
    stopping.child.kill('SIGTERM');
    await Promise.all(senders);

    expect(await exited).toBe(0);
    expect(await closeCode).toBe(1001);
    expect(unexpected).toEqual([]);
    // A 503 says when to send again.
    expect(refused.filter((answer) => !(Number(answer.retryAfter) > 0))).toEqual([]);
    expect(accepted.length + refused.length + connectionErrors).toBe(TOTAL);
    // Nothing of what it accepted failed on a pool or a Redis connection it had closed.
    expect(stopping.output()).not.toMatch(
      /listener failed|Cannot use a pool|Connection is closed|ack failed|wake-up not requested/,
    );
    // Every accepted message reaches Bob, once.
    await bobInbox.waitForCount(accepted.length, 30_000);
    const received = bobInbox.messages.map((message) => message.messageId);
    expect(new Set(received).size).toBe(received.length);
    expect(new Set(received)).toEqual(new Set(accepted));
  }, 60_000);

  it('closes its pool only after the fan-out of what it just accepted is done, not left to the reconciler', async () => {
    const app = await startTestApp({ RECONCILE_INTERVAL_SECONDS: '3600' });
    try {
      const alice = await newAccount(app.baseUrl, 'alice');
      const bob = await newAccount(app.baseUrl, 'bob');
      const sent = await Promise.all(
        Array.from({ length: 50 }, (_unused, index) =>
          alice.sendText({ accountId: bob.accountId }, `m${index}`),
        ),
      );
      // Closed the moment the last answer is in, as a SIGTERM would.
      await app.app.close();
      const left = await app.pool.query(
        'SELECT count(*)::int AS n FROM fanout_pending WHERE message_id = ANY($1::uuid[])',
        [sent.map((message) => message.messageId)],
      );
      expect(left.rows[0].n).toBe(0);
    } finally {
      await app.destroy();
    }
  });
  it('keeps its queues open for after-commit work still running when its HTTP server has closed', async () => {
    const app = await startTestApp();
    try {
      const afterCommit = app.app.get(AfterCommitWork);
      const fanout = app.app.get<Queue>(getQueueToken(QUEUES.fanout));
      const httpClosed = new Promise((resolve) => app.app.getHttpServer().once('close', resolve));
      // Work of a request that finished just before the SIGTERM, still busy
      // (a slow statement) when the shutdown reaches the closers, that then
      // enqueues: delayed, so that no worker takes the job meanwhile.
      const enqueued = afterCommit.track(
        (async () => {
          await httpClosed;
          await app.pool.query('SELECT pg_sleep(0.3)');
          return fanout.add(JOBS.fanoutMessage, {}, { delay: 3_600_000 });
        })(),
      );
      const outcome = enqueued.then(
        (job) => ({ jobId: job.id }),
        (error: Error) => ({ error: error.message }),
      );
      await app.app.close();
      expect(await outcome).toEqual({ jobId: expect.any(String) });
    } finally {
      await app.destroy();
    }
  });
});
