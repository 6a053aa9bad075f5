import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  deleteKeysNaming,
  REDIS,
  REDIS_KEYS,
  type RedisKeys,
  type RedisClient,
} from '../redis/redis.module.js';
import type { SendMessageDto } from './dto/messages.dto.js';
import { type InboxMessage, inboxMessageView } from './inbox-message.view.js';
import { copyOf } from './message-copy.js';
import { SendCoverage } from './send-coverage.js';
import { checkSendLimits } from './send-limits.js';

// How long a retry of an ephemeral send gets its first answer: a client
// retries within seconds, and what an ephemeral send carries (a typing
// indicator, an ICE candidate) is stale long before this.
const IDEMPOTENCY_SECONDS = 600;

/** An ephemeral message and, per device, the copy its stream gets. */
export interface EphemeralMessage {
  deviceIds: string[];
  copyFor(deviceId: string): InboxMessage;
}

/** Delivers to the streams open right now, wherever they are; returns how many devices had one. */
export type EphemeralDeliverer = (message: EphemeralMessage) => Promise<number>;

export interface EphemeralAccepted {
  messageId: string;
  acceptedAt: string;
  expiresAt: string;
  liveDevices: number;
}

/**
 * Ephemeral sends (`ephemeral: true`): typing indicators, call candidates.
 * Held to the same limits, rate and coverage rule as a stored send, then
 * handed to the streams open at that moment and forgotten: nothing is
 * written to PostgreSQL, queued, pushed or listed in an inbox. Idempotency
 * is a claim in Redis. The delivery itself is the live module's (sync/),
 * registered here at boot, so that messages does not depend on it.
 */
@Injectable()
export class EphemeralSendService {
  private deliverer: EphemeralDeliverer | undefined;

  constructor(
    private readonly coverage: SendCoverage,
    private readonly metrics: MetricsService,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /** Deletes the idempotency claims of sends by these devices (their account was deleted). */
  forgetClaimsOf(deviceIds: string[]): Promise<number> {
    return deleteKeysNaming(this.redis, this.keys.key('ephemeral', '*'), deviceIds);
  }

  deliverWith(deliverer: EphemeralDeliverer): void {
    this.deliverer = deliverer;
  }

  async send(sender: AuthenticatedDevice, request: SendMessageDto): Promise<EphemeralAccepted> {
    const ttlSeconds = checkSendLimits(request, this.env);
    const checked = await this.coverage.countAndCheck(sender, request);
    const claimKey = this.keys.key('ephemeral', sender.deviceId, request.clientMessageId);
    if (checked.kind === 'refused') {
      const earlier = await this.redis.get(claimKey);
      if (earlier) return JSON.parse(earlier) as EphemeralAccepted;
      throw checked.problem;
    }
    if (!this.deliverer) throw Problem.unavailable('Ephemeral sends are not served here');
    const acceptedAt = new Date();
    const answer: EphemeralAccepted = {
      messageId: randomUUID(),
      acceptedAt: acceptedAt.toISOString(),
      expiresAt: new Date(acceptedAt.getTime() + ttlSeconds * 1000).toISOString(),
      liveDevices: 0,
    };
    // The claim comes first: a concurrent retry finds it and delivers nothing again.
    const claimed = await this.redis.set(
      claimKey,
      JSON.stringify(answer),
      'EX',
      IDEMPOTENCY_SECONDS,
      'NX',
    );
    if (claimed !== 'OK') {
      const earlier = await this.redis.get(claimKey);
      if (earlier) return JSON.parse(earlier) as EphemeralAccepted;
    }
    // Shaped as a stored message would be, with no place in any order (seq 0).
    const copyFor = copyOf(sender, request, {
      messageId: answer.messageId,
      acceptedAt,
      expiresAt: new Date(answer.expiresAt),
      seq: 0,
      expiresAtKey: answer.expiresAt,
    });
    try {
      answer.liveDevices = await this.deliverer({
        deviceIds: checked.deviceIds,
        copyFor: (deviceId) => inboxMessageView(copyFor(deviceId)),
      });
    } catch (error) {
      // Not delivered (Redis down): the claim goes, so that the retry delivers.
      await this.redis.del(claimKey).catch(() => undefined);
      throw error;
    }
    await this.redis.set(claimKey, JSON.stringify(answer), 'EX', IDEMPOTENCY_SECONDS, 'XX');
    this.metrics.ephemeralSends.inc();
    return answer;
  }
}
