import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import { ENV, type Env } from '../config/env.js';
import { IdentityService } from '../identity/identity.service.js';
import { MessagesService, type PurgeResult } from '../messages/messages.service.js';
import { LoggedWorkerHost } from '../queue/logged-worker-host.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import { ScheduleKeeper } from '../queue/schedule-keeper.js';

export type PurgeRun = PurgeResult & { secrets: number };

/**
 * The purge: expired messages (whole daily partitions dropped, the rest in
 * bounded batches; see MessagesService.purgeExpired) and expired auth
 * secrets, so it never holds locks for long. It also creates the daily
 * partitions ahead.
 * Scheduled with a job scheduler, so one run happens per interval however
 * many workers there are.
 */
@Processor(QUEUES.retention)
export class PurgeProcessor extends LoggedWorkerHost {
  constructor(
    private readonly messages: MessagesService,
    private readonly identity: IdentityService,
    @InjectQueue(QUEUES.retention) private readonly queue: Queue,
    private readonly schedules: ScheduleKeeper,
    @Inject(ENV) private readonly env: Env,
  ) {
    super();
  }

  protected override onWorkerReady(): Promise<void> {
    this.schedules.keep(this.queue, JOBS.purgeExpired, this.env.PURGE_INTERVAL_SECONDS * 1000);
    return Promise.resolve();
  }

  async process(job: Job): Promise<PurgeRun> {
    if (job.name !== JOBS.purgeExpired) throw new UnrecoverableError(`unknown job ${job.name}`);
    return this.purgeNow();
  }

  /** One full purge pass (also called directly by tests and the benchmark). */
  async purgeNow(): Promise<PurgeRun> {
    const messages = await this.messages.purgeExpired(this.env.PURGE_BATCH_SIZE);
    const secrets = await this.identity.deleteExpiredSecrets();
    if (messages.droppedPartitions > 0 || messages.deletedMessages > 0) {
      this.logger.log(
        `purge: dropped ${messages.droppedPartitions} expired partitions, deleted ${messages.deletedMessages} expired messages (ms: ${JSON.stringify(messages.stepMs)})`,
      );
    }
    if (messages.createdDays === null) {
      this.logger.warn('purge: partitions ahead not checked (table lock busy); next run retries');
    }
    return { ...messages, secrets };
  }
}
