import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AdminCredentials } from '../../src/admin/admin-credentials.js';
import { JOBS, QUEUES } from '../../src/queue/queue-names.js';
import { newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const basic = (password: string, user = 'ops') =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface BoardQueues {
  queues: {
    name: string;
    readOnlyMode: boolean;
    counts: Record<string, number>;
    jobs: { name: string; data: unknown }[];
  }[];
}

describe('the queue dashboard (Bull Board at /admin/queues)', () => {
  let world: TestApp;
  let admin: { id: string; token: string };

  beforeAll(async () => {
    world = await startTestApp();
    admin = await world.app.get(AdminCredentials).create('ops');
  });
  afterAll(() => world?.close());

  const get = (path: string, authorization?: string) =>
    fetch(`${world.baseUrl}/admin/queues${path}`, {
      headers: authorization ? { authorization } : {},
    });

  it('asks a browser for an admin credential and refuses anything else, a user token included', async () => {
    const user = await newAccount(world.baseUrl, 'mallory');
    const forged = `sna_${admin.id}.${Buffer.alloc(32, 7).toString('base64url')}`;
    for (const authorization of [
      undefined,
      `Bearer ${user.currentToken}`,
      basic(user.currentToken!),
      `Bearer ${forged}`,
      basic(forged),
      'Basic !!!not-base64',
    ]) {
      for (const path of ['', '/api/queues']) {
        const answer = await get(path, authorization);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
        expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
        expect(((await answer.json()) as { code: string }).code).toBe('admin_credential_invalid');
      }
    }
    const refused = await world.pool.query(
      `SELECT actor FROM audit_log WHERE action = 'credential_refused'`,
    );
    expect(refused.rows.length).toBeGreaterThan(0);
    expect(refused.rows.every((row: { actor: string }) => row.actor === admin.id)).toBe(true);
  });

  it('shows the page, and every queue with its jobs by state, to the admin credential', async () => {
    const page = await get('', basic(admin.token));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Supernode queues');

    const push = world.app.get<Queue>(getQueueToken(QUEUES.push));
    const deviceId = randomUUID();
    const job = await push.add(JOBS.pushWakeup, { deviceId }, { delay: 3_600_000 });
    try {
      const answer = await get(
        '/api/queues?activeQueue=push&status=delayed',
        `Bearer ${admin.token}`,
      );
      expect(answer.status).toBe(200);
      const board = (await answer.json()) as BoardQueues;
      expect(board.queues.map((queue) => queue.name).sort()).toEqual(Object.values(QUEUES).sort());
      expect(board.queues.every((queue) => queue.readOnlyMode)).toBe(true);
      const pushQueue = board.queues.find((queue) => queue.name === QUEUES.push);
      expect(pushQueue?.counts.delayed).toBe(1);
      expect(pushQueue?.jobs).toEqual([
        expect.objectContaining({ name: JOBS.pushWakeup, data: { deviceId } }),
      ]);
    } finally {
      await job.remove();
    }
  });

  it('is read-only: cleaning, promoting, pausing or emptying a queue is refused and changes nothing', async () => {
    const push = world.app.get<Queue>(getQueueToken(QUEUES.push));
    const job = await push.add(JOBS.pushWakeup, { deviceId: randomUUID() }, { delay: 3_600_000 });
    const put = (path: string) =>
      fetch(`${world.baseUrl}/admin/queues/api/queues/${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin.token}` },
      });
    try {
      for (const action of ['clean/delayed', 'promote', 'pause', 'empty', `${job.id}/promote`])
        expect((await put(`push/${action}`)).status).toBe(405);
      // "Pause every queue" passes over read-only ones.
      await put('pause');
      expect(await push.getJobCounts('delayed')).toEqual({ delayed: 1 });
      expect(await push.isPaused()).toBe(false);
    } finally {
      await job.remove();
    }
  });
});
