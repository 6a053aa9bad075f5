import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import { ENV, type Env } from '../config/env.js';
import { IdentityService } from '../identity/identity.service.js';
import { MessagesService } from '../messages/messages.service.js';
import { LoggedWorkerHost } from '../queue/logged-worker-host.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import { ScheduleKeeper } from '../queue/schedule-keeper.js';

/**
 * The purge: expired messages (with their deliveries and receipts) and
 * expired auth secrets, in bounded batches so it never holds locks for long.
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

  async process(job: Job): Promise<{ messages: number; secrets: number }> {
    if (job.name !== JOBS.purgeExpired) throw new UnrecoverableError(`unknown job ${job.name}`);
    return this.purgeNow();
  }

  /** One full purge pass (also called directly by tests and the benchmark). */
  async purgeNow(): Promise<{ messages: number; secrets: number }> {
    const messages = await this.messages.purgeExpired(this.env.PURGE_BATCH_SIZE);
    const secrets = await this.identity.deleteExpiredSecrets();
    if (messages > 0) this.logger.log(`purged ${messages} expired messages`);
    return { messages, secrets };
  }
}
