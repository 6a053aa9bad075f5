import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';
import { ENV, type Env } from '../config/env.js';
import { InboxService } from '../messages/inbox.service.js';
import type { JobPayloads, PushWakeup } from '../queue/job-payloads.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import { PushSubscriptionsRepository } from './push-subscriptions.repository.js';

type PushJobData = JobPayloads[typeof JOBS.pushWakeup];

// BullMQ ids may not contain ':'.
const throttleId = (deviceId: string): string => `wake-${deviceId}`;

/**
 * Asks for wake-up pushes to devices that have something new pending and no
 * open stream. Only devices with a subscription get a job. A normal wake-up
 * is throttled per device (BullMQ deduplication with a time to live: at most
 * one job per PUSH_MIN_INTERVAL_SECONDS, however many messages arrive); the
 * throttle is lifted when the device connects, so that the next time it
 * sleeps its first message wakes it again. An urgent one is never throttled.
 */
@Injectable()
export class WakeupService {
  constructor(
    @InjectQueue(QUEUES.push) private readonly queue: Queue<PushJobData>,
    private readonly subscriptions: PushSubscriptionsRepository,
    private readonly inbox: InboxService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /**
   * Wake-ups for the devices of these messages that `isAsleep` names (an
   * urgent message's devices get urgent ones).
   */
  requestForMessages(
    messages: { deviceIds: string[]; urgentUntil?: string }[],
    isAsleep: (deviceId: string) => boolean,
  ): Promise<void> {
    return this.request(
      messages.flatMap(({ deviceIds, urgentUntil }) =>
        deviceIds.filter(isAsleep).map((deviceId) => ({ deviceId, urgentUntil })),
      ),
    );
  }

  private async request(wakeups: PushWakeup[]): Promise<void> {
    if (wakeups.length === 0) return;
    const subscribed = await this.subscriptions.subscribedAmong([
      ...new Set(wakeups.map((wakeup) => wakeup.deviceId)),
    ]);
    await this.enqueue(wakeups.filter((wakeup) => subscribed.has(wakeup.deviceId)));
  }

  /**
   * A device's last stream closed: a wake-up if anything is pending for it
   * (frames it may not have read). Asked only then, so that a throttle
   * interval never starts for a device that has nothing to wake for.
   */
  async requestIfPending(deviceId: string): Promise<void> {
    if (!(await this.subscriptions.subscribedAmong([deviceId])).has(deviceId)) return;
    if ((await this.inbox.pendingSummary(deviceId)).count === 0) return;
    await this.enqueue([{ deviceId }]);
  }

  /** Jobs for devices known to have a subscription. */
  private async enqueue(wakeups: PushWakeup[]): Promise<void> {
    const normal = new Set<string>();
    const jobs: { data: PushWakeup; opts: JobsOptions }[] = [];
    for (const { deviceId, urgentUntil } of wakeups) {
      if (urgentUntil) {
        jobs.push({ data: { deviceId, urgentUntil }, opts: {} });
      } else if (!normal.has(deviceId)) {
        normal.add(deviceId);
        const ttl = this.env.PUSH_MIN_INTERVAL_SECONDS * 1000;
        jobs.push({
          data: { deviceId },
          opts: { deduplication: { id: throttleId(deviceId), ttl } },
        });
      }
    }
    // One add each: deduplication is applied per add.
    await Promise.all(jobs.map((job) => this.queue.add(JOBS.pushWakeup, job.data, job.opts)));
  }

  /** The device connected: its next sleep starts a fresh throttle interval. */
  async clear(deviceId: string): Promise<void> {
    await this.queue.removeDeduplicationKey(throttleId(deviceId));
  }
}
