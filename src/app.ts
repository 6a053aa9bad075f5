import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { mountQueueDashboard } from './admin/queue-dashboard.js';
import { mountApiDocs } from './api-docs/api-docs.js';
import { AppModule } from './app.module.js';
import { builtDemoDir, mountDemo } from './demo/demo-page.js';
import { fastifyTrustProxy } from './common/client-address.js';
import { initSodium } from './common/crypto.js';
import { httpServerOptions, prepareHttpEdge } from './common/http-edge.js';
import { ProblemFilter } from './common/problem.filter.js';
import { ZodValidationPipe } from './common/validation.js';
import type { Env } from './config/env.js';
import { routeBodyLimits } from './config/request-limits.js';
import { recordHttpMetrics } from './metrics/http-metrics.hook.js';
import { MetricsService } from './metrics/metrics.service.js';

/** CORS for the web origins of CORS_ORIGINS: what the SDK sends and reads, no cookies. */
function corsOptions(origins: string[] | '*') {
  return {
    origin: origins === '*' ? true : origins,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    exposedHeaders: ['retry-after', 'location'],
    credentials: false,
    maxAge: 600,
  };
}

/** Builds the Nest application for the given environment (used by main.ts, tests and benchmarks). */
export async function createApp(env: Env): Promise<NestFastifyApplication> {
  await initSodium();
  const adapter = new FastifyAdapter({
    ...httpServerOptions(env),
    trustProxy: fastifyTrustProxy(env.TRUST_PROXY),
    // Request logging stays off: URLs of the stream may carry a token.
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRole(env), adapter, {
    // Held until pino takes over (below), so that every line is JSON.
    bufferLogs: true,
    abortOnError: false,
    // prepareHttpEdge registers the only body parser (JSON).
    bodyParser: false,
  });
  app.useLogger(app.get(PinoLogger));
  prepareHttpEdge(app, env, routeBodyLimits(env));
  if (env.CORS_ORIGINS.length > 0) app.enableCors(corsOptions(env.CORS_ORIGINS));
  recordHttpMetrics(app.getHttpAdapter().getInstance(), app.get(MetricsService));
  app.useGlobalFilters(new ProblemFilter());
  app.useGlobalPipes(new ZodValidationPipe(env));
  if (env.ROLE !== 'worker') {
    await mountQueueDashboard(app);
    mountApiDocs(app);
  }
  if (env.ROLE !== 'worker' && env.SERVE_DEMO) {
    const demoDir = builtDemoDir();
    if (demoDir) await mountDemo(app, demoDir);
    else new Logger('Demo').warn('the web demo is not built (npm run build): /demo is not served');
  }
  return app;
}
