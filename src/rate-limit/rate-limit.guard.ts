import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ENV, type Env } from '../config/env.js';
import { rateLimitAddressKey } from '../common/client-address.js';
import { RateLimiter } from './rate-limiter.js';

type AddressLimitVariable = 'RATE_LIMIT_ACCOUNT_CREATE' | 'RATE_LIMIT_AUTH';
type AccountLimitVariable =
  | 'RATE_LIMIT_LINK_CODES'
  | 'RATE_LIMIT_CONVERSATIONS'
  | 'RATE_LIMIT_MEMBER_ADDS'
  | 'RATE_LIMIT_DIRECTORY'
  | 'RATE_LIMIT_PUSH_SUBSCRIPTIONS'
  | 'RATE_LIMIT_TURN_CREDENTIALS';

interface RateLimitRule {
  per: 'address' | 'account';
  scope: string;
  limit: AddressLimitVariable | AccountLimitVariable;
}

const RATE_LIMIT = Symbol('rate-limit');

/** Limits a route per client address: `scope` names the counter, `limit` the variable that sets it. */
export const RateLimitPerAddress = (scope: string, limit: AddressLimitVariable) =>
  SetMetadata(RATE_LIMIT, { per: 'address', scope, limit } satisfies RateLimitRule);

/**
 * Limits a route per calling account (all its devices share the counter).
 * RateLimitGuard must come after AuthGuard: `@UseGuards(AuthGuard, RateLimitGuard)`.
 */
export const RateLimitPerAccount = (scope: string, limit: AccountLimitVariable) =>
  SetMetadata(RATE_LIMIT, { per: 'account', scope, limit } satisfies RateLimitRule);

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
    const rule = this.reflector.get<RateLimitRule | undefined>(RATE_LIMIT, context.getHandler());
    if (!rule) return true;
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { auth?: { accountId: string } }>();
    let subject: string;
    if (rule.per === 'address') {
      subject = rateLimitAddressKey(request.ip);
    } else {
      // A wiring mistake, not a client's: fail loudly rather than not count.
      if (!request.auth) throw new Error(`RateLimitPerAccount(${rule.scope}) without AuthGuard`);
      subject = request.auth.accountId;
    }
    await this.limiter.hit(
      rule.scope,
      subject,
      this.env[rule.limit],
      this.env.RATE_LIMIT_WINDOW_SECONDS,
    );
    return true;
  }
}
