import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.js';
import type { Env } from '../../src/config/env.js';
import { createTestEnv, type TestEnv } from './test-env.js';

export interface TestApp extends TestEnv {
  app: NestFastifyApplication;
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts the whole app (ROLE=all) on a free port against an isolated database and Redis prefix. */
export async function startTestApp(
  overrides: Partial<Record<keyof Env, string>> = {},
): Promise<TestApp> {
  const world = await createTestEnv(overrides);
  const app = await createApp(world.env);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    ...world,
    app,
    baseUrl: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await world.destroy();
    },
  };
}
