import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES } from '../../src/queue/queue-names.js';
import { MetricsServer } from '../../src/metrics/metrics.server.js';
import { FanoutProducer } from '../../src/sync/fanout.producer.js';
import { newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const metricValue = (text: string, name: string): number => {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
};

describe('GET /metrics', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('counts accepted messages, requests by route template and fan-out jobs, and shows no secrets', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const before = await (await fetch(`${world.baseUrl}/metrics`)).text();
    const sent = await alice.sendText({ accountId: bob.accountId }, 'counted');
    // Refused by the auth guard, before any handler: counted too.
    const refused = await fetch(`${world.baseUrl}/v1/inbox`, {
      headers: { authorization: 'Bearer forged' },
    });
    expect(refused.status).toBe(401);

    const response = await fetch(`${world.baseUrl}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const after = await response.text();
    expect(metricValue(after, 'supernode_messages_accepted_total')).toBe(
      metricValue(before, 'supernode_messages_accepted_total') + 1,
    );
    expect(after).toContain('method="POST",route="/v1/messages",status="201"');
    expect(after).toContain('method="GET",route="/v1/inbox",status="401"');
    // Bob is connected nowhere, so the send itself needed no job: enqueue
    // one as the reconciler would.
    await world.app
      .get(FanoutProducer)
      .enqueue([{ messageId: sent.messageId, deviceIds: [bob.deviceId] }]);
    await waitFor('fan-out job metric', async () =>
      (await (await fetch(`${world.baseUrl}/metrics`)).text()).includes(
        'job_name="fanout-message",outcome="completed"',
      ),
    );
    // Route templates only: no ids, and never a token.
    expect(after).not.toContain(bob.accountId);
    expect(after).not.toContain(alice.currentToken ?? 'no-token');
  });
});

describe('GET /metrics: queue depths', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  const queueJobs = async (queue: string, state: string) =>
    metricValue(
      await (await fetch(`${world.baseUrl}/metrics`)).text(),
      `supernode_queue_jobs{queue="${queue}",state="${state}"}`,
    );

  it("shows each queue's jobs by state, read from Redis when scraped", async () => {
    const push = world.app.get<Queue>(getQueueToken(QUEUES.push));
    const before = await queueJobs('push', 'delayed');
    expect(before).toBeGreaterThanOrEqual(0);
    const job = await push.add(
      JOBS.pushWakeup,
      { deviceId: crypto.randomUUID() },
      { delay: 3_600_000 },
    );
    expect(await queueJobs('push', 'delayed')).toBe(before + 1);
    await job.remove();
    expect(await queueJobs('push', 'delayed')).toBe(before);
    expect(await queueJobs('fanout', 'waiting')).toBeGreaterThanOrEqual(0);
  });
});

const METRICS_TOKEN = 'scraper-token-0123456789abcdef';

const expectProblem = async (response: Response, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(((await response.json()) as { code: string }).code).toBe(code);
};

describe('GET /metrics with METRICS_TOKEN', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({ METRICS_TOKEN });
  });
  afterAll(() => world.close());

  it('needs the bearer token: none or a wrong one is a 401 problem, the right one gets the metrics', async () => {
    await expectProblem(await fetch(`${world.baseUrl}/metrics`), 401, 'token_invalid');
    await expectProblem(
      await fetch(`${world.baseUrl}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
      }),
      401,
      'token_invalid',
    );
    const response = await fetch(`${world.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('supernode_http_request_duration_seconds_count');
  });
});

describe('GET /metrics on METRICS_PORT', () => {
  let world: TestApp;
  let metricsUrl: string;
  beforeAll(async () => {
    // Port 0: a free one, read back from the metrics server.
    world = await startTestApp({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', METRICS_TOKEN });
    metricsUrl = `http://127.0.0.1:${world.app.get(MetricsServer).port}`;
  });
  afterAll(() => world.close());

  it('is gone from the public port and served on its own, with the token when one is set', async () => {
    await expectProblem(
      await fetch(`${world.baseUrl}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      }),
      404,
      'not_found',
    );
    // The API's own requests are counted, and read on the metrics port.
    await fetch(`${world.baseUrl}/health/live`);

    await expectProblem(await fetch(`${metricsUrl}/metrics`), 401, 'token_invalid');
    const response = await fetch(`${metricsUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toContain('route="/health/live",status="200"');
    await expectProblem(await fetch(`${metricsUrl}/other`), 404, 'not_found');
  });
});
