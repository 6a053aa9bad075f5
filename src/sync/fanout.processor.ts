import { debugLogging } from '../common/logging.js';
import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { ENV, type Env } from '../config/env.js';
import { FanoutTrackingService } from '../messages/fanout-tracking.service.js';
import { WakeupService } from '../push/wakeup.service.js';
import type { FanoutTarget, JobOf } from '../queue/job-payloads.js';
import { type JobHandlers, LoggedWorkerHost } from '../queue/logged-worker-host.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import type { RoutedMessage } from './device-router.js';
import { LiveRoutingService } from './live-routing.service.js';

/**
 * Fan-out of messages accepted together: routes each to every addressed
 * device that is connected (wherever), marks the others for a wake-up push,
 * then records that the messages were fanned out. Safe to run twice: clients
 * dedupe by id.
 */
@Processor(QUEUES.fanout)
export class FanoutProcessor extends LoggedWorkerHost<typeof QUEUES.fanout> {
  protected readonly handlers: JobHandlers<typeof QUEUES.fanout> = {
    [JOBS.fanoutMessage]: (job) => this.fanOut(job),
  };

  constructor(
    private readonly tracking: FanoutTrackingService,
    private readonly routing: LiveRoutingService,
    private readonly wakeups: WakeupService,
    @Inject(ENV) private readonly env: Env,
  ) {
    super();
  }

  protected override onWorkerReady(): Promise<void> {
    this.worker.concurrency = this.env.FANOUT_CONCURRENCY;
    return Promise.resolve();
  }

  private async fanOut(job: JobOf<typeof JOBS.fanoutMessage>): Promise<void> {
    const targets = 'messages' in job.data ? job.data.messages : [job.data];
    // Devices that acked meanwhile are routed anyway: their socket reads
    // PostgreSQL on the notice and finds nothing new.
    const messages = await Promise.all(targets.map((target) => this.withDevices(target)));
    const offline = new Set(await this.routing.routeMessages(messages));
    await this.wakeups.requestForMessages(messages, (deviceId) => offline.has(deviceId));
    await this.tracking.markFannedOut(messages.map((message) => message.messageId));
  }

  private async withDevices(target: FanoutTarget): Promise<RoutedMessage> {
    const routed = {
      messageId: target.messageId,
      deviceIds: target.deviceIds ?? (await this.tracking.pendingDeviceIds(target.messageId)),
      urgentUntil: target.urgentUntil,
      requestId: target.requestId,
      trace: target.trace,
    };
    if (debugLogging(this.env))
      this.logger.debug(
        {
          requestId: target.requestId,
          messageId: routed.messageId,
          devices: routed.deviceIds.length,
        },
        'fan-out: routing a message',
      );
    return routed;
  }
}
