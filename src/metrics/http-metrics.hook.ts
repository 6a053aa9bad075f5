import type { FastifyInstance } from 'fastify';
import type { MetricsService } from './metrics.service.js';

/**
 * Times every request under its route template (never the raw URL, which can
 * hold ids), as a fastify hook rather than a Nest interceptor: it also counts
 * requests that a guard refused (401, 429) or no route matched, and it keeps
 * the Nest handler chain free of an rxjs pipeline per request.
 */
export function recordHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequests.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
