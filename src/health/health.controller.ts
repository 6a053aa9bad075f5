import { Controller, Get, Inject, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiProblems } from '../api-docs/openapi-decorators.js';
import { LIVENESS } from '../api-docs/openapi-schemas.js';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import pg from 'pg';
import { Problem } from '../common/problem.js';
import { PG_POOL } from '../db/db.module.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';

const CHECK_TIMEOUT_MS = 2000;

@Controller('health')
@ApiTags('operations')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  /** The process is up and serving. */
  @ApiOperation({ operationId: 'liveness', summary: 'The process is up' })
  @ApiAnswer(200, LIVENESS)
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /**
   * PostgreSQL and Redis both answer; otherwise 503 naming the part that is
   * down. The drivers' error text (hosts, ports, users) goes to the log only:
   * this answer is public.
   */
  @ApiOperation({ operationId: 'readiness', summary: 'PostgreSQL and Redis answer' })
  @ApiAnswer(200, { type: 'object' })
  @ApiProblems({ 503: 'not_ready (down names the parts)' })
  @Get('ready')
  async ready() {
    try {
      return await this.health.check([
        () =>
          this.indicators
            .check('postgres')
            .attempt(async () => {
              await this.pool.query('SELECT 1');
            })
            .withTimeout(CHECK_TIMEOUT_MS),
        () =>
          this.indicators
            .check('redis')
            .attempt(async () => {
              await this.redis.ping();
            })
            .withTimeout(CHECK_TIMEOUT_MS),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as {
        error?: Record<string, unknown>;
        details?: Record<string, unknown>;
      };
      const down = Object.keys(result.error ?? {});
      this.logger.warn({ failing: result.error }, 'not ready');
      throw new Problem(
        503,
        'not_ready',
        'Service unavailable',
        `Down: ${down.join(', ')}`,
        { down },
        {
          'Retry-After': '5',
        },
      );
    }
  }
}
