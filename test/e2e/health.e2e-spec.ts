import { createApp } from '../../src/app.js';
import { loadEnv } from '../../src/config/env.js';
import { uniqueHandle } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { deleteRedisPrefix } from '../support/test-env.js';

type App = Awaited<ReturnType<typeof createApp>>;

async function listen(app: App): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

// Nothing listens on port 1: connections are refused at once.
const DEAD_REDIS = 'redis://127.0.0.1:1';
const DEAD_POSTGRES = 'postgres://postgres@127.0.0.1:1/supernode';

describe('health and dependencies that are down', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('live and ready answer 200 when PostgreSQL and Redis answer', async () => {
    expect((await fetch(`${world.baseUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${world.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      details: { postgres: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it.each([
    ['redis', { REDIS_URL: DEAD_REDIS }],
    ['postgres', { DATABASE_URL: DEAD_POSTGRES }],
  ])(
    'with %s down: ready is 503 naming it, live stays 200, and a call that needs it gets 503 with Retry-After, not a hang',
    async (down, source) => {
      // ROLE=api: what answers requests. (Workers with Redis down cannot close
      // gracefully; main.ts exits them after a deadline.)
      const env = loadEnv({
        ...process.env,
        DATABASE_URL: world.env.DATABASE_URL,
        ...source,
        ROLE: 'api',
        LOG_LEVEL: 'error',
        // A prefix of this world's own, deleted at the end.
        REDIS_PREFIX: `${world.env.REDIS_PREFIX}_health_${down}`,
      });
      const app = await createApp(env);
      try {
        const baseUrl = await listen(app);
        expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);

        const ready = await fetch(`${baseUrl}/health/ready`);
        expect(ready.status).toBe(503);
        expect(ready.headers.get('content-type')).toContain('application/problem+json');
        const readyText = await ready.text();
        expect(JSON.parse(readyText)).toMatchObject({ code: 'not_ready', down: [down] });
        // Which part is down, but none of the driver's text (host, port, error) to the public.
        for (const driverText of ['127.0.0.1', 'ECONNREFUSED', 'connect', 'message'])
          expect(readyText).not.toContain(driverText);

        const started = Date.now();
        const call = await fetch(`${baseUrl}/v1/accounts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ handle: uniqueHandle(), device: {} }),
        });
        expect(Date.now() - started).toBeLessThan(10_000);
        const problem = (await call.json()) as { code: string };
        // Redis down: the rate limit cannot count (503). PostgreSQL down: the body is invalid before any query (400).
        expect(call.status === 503 ? problem.code : call.status).toBe(
          call.status === 503 ? 'service_unavailable' : 400,
        );
        if (call.status === 503) expect(Number(call.headers.get('retry-after'))).toBeGreaterThan(0);

        const authed = await fetch(`${baseUrl}/v1/devices`, {
          headers: {
            authorization: `Bearer ${'0'.repeat(8)}-0000-4000-8000-000000000000.${Buffer.alloc(32).toString('base64url')}`,
          },
        });
        expect([401, 503]).toContain(authed.status);
        if (down === 'postgres') {
          expect(authed.status).toBe(503);
          expect(((await authed.json()) as { code: string }).code).toBe('service_unavailable');
        }
      } finally {
        await app.close();
        await deleteRedisPrefix(world.env, env.REDIS_PREFIX);
      }
    },
    30_000,
  );
});
