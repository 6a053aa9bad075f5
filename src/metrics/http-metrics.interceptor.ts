import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, tap } from 'rxjs';
import { MetricsService } from './metrics.service.js';

/** Times every handled request under its route template (never the raw URL, which can hold ids). */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const stop = this.metrics.httpRequests.startTimer({
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
    });
    const finish = (status: number) => stop({ status: String(status) });
    return next.handle().pipe(
      tap({
        next: () => finish(reply.statusCode),
        error: (error: { status?: number; getStatus?: () => number }) =>
          finish(error.status ?? error.getStatus?.() ?? 500),
      }),
    );
  }
}
