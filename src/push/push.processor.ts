import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import { ENV, type Env } from '../config/env.js';
import { PresenceService } from '../directory/presence.service.js';
import { InboxService } from '../messages/inbox.service.js';
import { UnrecoverableError } from 'bullmq';
import { MetricsService } from '../metrics/metrics.service.js';
import type { JobOf } from '../queue/job-payloads.js';
import { type JobHandlers, LoggedWorkerHost } from '../queue/logged-worker-host.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import { pushTopic, sealPushPayload } from './push-payload.js';
import { PushSender } from './push-sender.js';
import { PushSubscriptionsRepository } from './push-subscriptions.repository.js';
import { VapidKeys } from './vapid-keys.service.js';

const MAX_BACKOFF_MS = 5 * 60_000;

/** A push service asked us to try again (429 or 5xx), perhaps saying when. */
class PushRetryError extends Error {
  constructor(
    status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`push service answered ${status}`);
  }
}

/** Retry-After when the push service gave one, else exponential from the job's delay. */
export function pushBackoff(attemptsMade: number, _type?: string, error?: Error): number {
  if (error instanceof PushRetryError && error.retryAfterMs !== undefined)
    return Math.min(error.retryAfterMs, MAX_BACKOFF_MS);
  return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), MAX_BACKOFF_MS);
}

/**
 * Sends a wake-up push to one device, if it still needs one: not connected
 * anywhere, something pending and unexpired, a subscription. The TTL runs
 * until the last of its pending messages expires (an urgent push: until the
 * urgent message does), so no push outlives what it announces.
 */
@Processor(QUEUES.push, { settings: { backoffStrategy: pushBackoff } })
export class PushProcessor extends LoggedWorkerHost<typeof QUEUES.push> {
  protected readonly handlers: JobHandlers<typeof QUEUES.push> = {
    [JOBS.pushWakeup]: (job) => this.wakeUp(job),
  };

  constructor(
    private readonly subscriptions: PushSubscriptionsRepository,
    private readonly vapid: VapidKeys,
    private readonly sender: PushSender,
    private readonly presence: PresenceService,
    private readonly inbox: InboxService,
    private readonly metricsOf: MetricsService,
    @Inject(ENV) private readonly env: Env,
  ) {
    super();
  }

  protected override onWorkerReady(): Promise<void> {
    this.worker.concurrency = this.env.PUSH_CONCURRENCY;
    return Promise.resolve();
  }

  private async wakeUp(job: JobOf<typeof JOBS.pushWakeup>): Promise<void> {
    const { deviceId, urgentUntil } = job.data;
    // Connected meanwhile: its stream delivers.
    if ((await this.presence.locate([deviceId])).has(deviceId)) return;
    const pending = await this.inbox.pendingSummary(deviceId);
    if (pending.count === 0 || !pending.lastExpiresAt) return;
    const until = urgentUntil ? Date.parse(urgentUntil) : pending.lastExpiresAt.getTime();
    const ttlSeconds = Math.floor((until - Date.now()) / 1000);
    if (ttlSeconds <= 0) return;
    const target = await this.subscriptions.target(deviceId);
    if (!target) return;
    const payload = sealPushPayload(target.boxKey, {
      v: 1,
      kind: urgentUntil ? 'call' : 'message',
      pending: pending.count,
    });
    let outcome;
    try {
      outcome = await this.sender.send(target, await this.vapid.get(), {
        payload,
        ttlSeconds,
        urgency: urgentUntil ? 'high' : 'normal',
        topic: pushTopic(deviceId),
      });
    } catch (error) {
      this.metricsOf.pushes.inc({ outcome: 'failed' });
      // Refused by the endpoint policy at connect time: retrying cannot help.
      if ((error as { code?: string }).code === 'EPUSHADDRESS')
        throw new UnrecoverableError('push endpoint address refused');
      throw new Error(`push not sent: ${describeError(error)}`);
    }
    this.metricsOf.pushes.inc({ outcome: outcome.kind });
    switch (outcome.kind) {
      case 'delivered':
        return;
      case 'gone':
        // The browser unsubscribed or the subscription expired: never push to it again.
        await this.subscriptions.deleteIfEndpoint(deviceId, target.endpoint);
        this.logger.log(
          { deviceId, status: outcome.status },
          'push subscription dropped (gone at the push service)',
        );
        return;
      case 'retry':
        throw new PushRetryError(outcome.status, outcome.retryAfterMs);
      case 'refused':
        throw new UnrecoverableError(`push service answered ${outcome.status}`);
    }
  }
}
