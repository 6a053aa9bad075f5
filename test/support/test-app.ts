import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.js';
import type { Env } from '../../src/config/env.js';
import { createTestEnv, type TestEnv } from './test-env.js';

/** A route as fastify registered it (`url` with its `:param` names). */
export interface RegisteredRoute {
  method: string;
  url: string;
}

export interface TestApp extends TestEnv {
  app: NestFastifyApplication;
  baseUrl: string;
  /** Every HTTP route the app registered, read from fastify as it starts (the abuse suite walks them). */
  routes: RegisteredRoute[];
  close(): Promise<void>;
}

/** Starts the whole app (ROLE=all) on a free port against an isolated database and Redis prefix. */
export async function startTestApp(
  overrides: Partial<Record<keyof Env, string>> = {},
): Promise<TestApp> {
  const world = await createTestEnv(overrides);
  const app = await createApp(world.env);
  // Nest registers its routes while listen() initialises the app, so this sees them all.
  const routes: RegisteredRoute[] = [];
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    ...world,
    app,
    routes,
    baseUrl: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await world.destroy();
    },
  };
}
