import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ENV, type Env } from '../config/env.js';
import { RateLimiter } from './rate-limiter.js';

type LimitVariable = 'RATE_LIMIT_ACCOUNT_CREATE' | 'RATE_LIMIT_AUTH';
const RATE_LIMIT = Symbol('rate-limit');

/** Limits a route per client address: `scope` names the counter, `limit` the variable that sets it. */
export const RateLimitPerAddress = (scope: string, limit: LimitVariable) =>
  SetMetadata(RATE_LIMIT, { scope, limit });

/**
 * Counts before validation (guards run before pipes), so malformed requests
 * count too and cannot be used to probe without limit.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.get<{ scope: string; limit: LimitVariable } | undefined>(
      RATE_LIMIT,
      context.getHandler(),
    );
    if (!rule) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    await this.limiter.hit(
      rule.scope,
      request.ip,
      this.env[rule.limit],
      this.env.RATE_LIMIT_WINDOW_SECONDS,
    );
    return true;
  }
}
