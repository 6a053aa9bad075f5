import { Global, Module } from '@nestjs/common';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * Rate limiting (sliding windows in Redis), for every module that limits:
 * identity (accounts, logins, links), messages (sends), sync (acks, stream
 * connects), conversations and the directory. Global, like the stores it
 * sits on, since RateLimitGuard is used in controllers across modules.
 */
@Global()
@Module({ providers: [RateLimiter, RateLimitGuard], exports: [RateLimiter, RateLimitGuard] })
export class RateLimitModule {}
