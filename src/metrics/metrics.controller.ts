import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Header,
  Inject,
  Injectable,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiTextAnswer } from '../api-docs/openapi-decorators.js';
import type { FastifyRequest } from 'fastify';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { metricsTokenMatches } from './metrics-access.js';
import { MetricsService } from './metrics.service.js';

/**
 * With METRICS_PORT set, /metrics is not on the public port at all (404, as
 * any unknown path); with METRICS_TOKEN set, it needs that bearer token.
 */
@Injectable()
export class MetricsAccessGuard implements CanActivate {
  constructor(@Inject(ENV) private readonly env: Env) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.env.METRICS_PORT !== undefined) {
      throw Problem.notFound('not_found', 'Not found');
    }
    const token = this.env.METRICS_TOKEN;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (token !== undefined && !metricsTokenMatches(request.headers.authorization, token)) {
      throw Problem.unauthorized('token_invalid', 'Missing or wrong metrics token');
    }
    return true;
  }
}

@Controller('metrics')
@UseGuards(MetricsAccessGuard)
@ApiTags('operations')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @ApiOperation({
    operationId: 'metrics',
    summary:
      'Prometheus metrics (with METRICS_TOKEN set: bearer token needed; with METRICS_PORT set: served on that port only)',
  })
  @ApiTextAnswer('text/plain', 'text/plain')
  @ApiProblems({
    401: 'token_invalid (METRICS_TOKEN set)',
    404: 'not_found (METRICS_PORT set)',
  })
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  render(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
