import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { PurgeLog } from '../audit/purge-log.service.js';
import { ENV, type Env } from '../config/env.js';
import { IdentityService } from '../identity/identity.service.js';
import { IdleDevicesService } from '../identity/idle-devices.service.js';
import { type JobHandlers, LoggedWorkerHost } from '../queue/logged-worker-host.js';
import { ExpiryNotifier } from '../sync/expiry.notifier.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import { ScheduleKeeper } from '../queue/schedule-keeper.js';
import { ExpiryRecorder } from './expiry-recorder.service.js';
import { EXPIRY_RECORD_BUDGET_MS, PurgeService } from './purge.service.js';
import type { ExpiryRecordResult, PurgeResult, SideRowPurgeResult } from './retention.types.js';
import { stepTimer } from './step-timer.js';

export type PurgeRun = PurgeResult & {
  /** How long the run's last step took (after PurgeResult's): the purge log. */
  closingMs: Record<'log', number>;
};

export type SideRowPurgeRun = SideRowPurgeResult & {
  /** Expired auth challenges, tokens and link codes deleted. */
  secrets: number;
};

/**
 * The expiry record, every EXPIRY_INTERVAL_SECONDS (`recordExpiriesNow`:
 * what expired unread is recorded and its senders told). The purge of
 * expired messages (whole daily partitions dropped, the rest in bounded
 * batches; see PurgeService.purgeExpired), so it never holds locks for
 * long. It also creates the daily partitions ahead. Expired idempotency
 * claims and fan-out marks (throttled), then expired auth secrets, go in a
 * job of their own (`purgeSideRowsNow`): the messages never wait for them.
 * Scheduled with a job scheduler, so one run happens per interval however
 * many workers there are.
 */
@Processor(QUEUES.retention)
export class PurgeProcessor extends LoggedWorkerHost<typeof QUEUES.retention> {
  protected readonly handlers: JobHandlers<typeof QUEUES.retention> = {
    [JOBS.recordExpiries]: () => this.recordExpiriesNow(),
    [JOBS.purgeExpired]: () => this.purgeNow(),
    [JOBS.purgeSideRows]: () => this.purgeSideRowsNow(),
    [JOBS.unlinkIdleDevices]: () => this.idleDevices.unlinkIdle(),
  };

  constructor(
    private readonly purge: PurgeService,
    private readonly recorder: ExpiryRecorder,
    private readonly identity: IdentityService,
    private readonly idleDevices: IdleDevicesService,
    private readonly purgeLog: PurgeLog,
    private readonly expiries: ExpiryNotifier,
    @InjectQueue(QUEUES.retention) private readonly queue: Queue,
    private readonly schedules: ScheduleKeeper,
    @Inject(ENV) private readonly env: Env,
  ) {
    super();
  }

  protected override onWorkerReady(): Promise<void> {
    const everyMs = this.env.PURGE_INTERVAL_SECONDS * 1000;
    this.schedules.keep(this.queue, JOBS.recordExpiries, this.env.EXPIRY_INTERVAL_SECONDS * 1000);
    this.schedules.keep(this.queue, JOBS.purgeExpired, everyMs);
    this.schedules.keep(this.queue, JOBS.purgeSideRows, everyMs);
    this.schedules.keep(
      this.queue,
      JOBS.unlinkIdleDevices,
      this.env.IDLE_CHECK_INTERVAL_SECONDS * 1000,
    );
    return Promise.resolve();
  }

  /** One run of the expiry record, then the `expired` notices owed (also called directly by tests). */
  async recordExpiriesNow(): Promise<ExpiryRecordResult & { notified: number }> {
    const result = await this.recorder.recordExpired(
      this.env.PURGE_BATCH_SIZE,
      EXPIRY_RECORD_BUDGET_MS,
    );
    if (!result.complete) {
      this.logger.warn(
        { messages: result.messages },
        'expiry: recorded up to the run’s time budget, more left for the next run',
      );
    }
    // Senders hear of what expired unread (owed notices of an earlier run that failed too).
    return { ...result, notified: await this.expiries.notifyOwed() };
  }

  /** One full purge pass (also called directly by tests and the benchmark). */
  async purgeNow(): Promise<PurgeRun> {
    const { ms: closingMs, timed } = stepTimer<keyof PurgeRun['closingMs']>();
    const messages = await this.purge.purgeExpired(this.env.PURGE_BATCH_SIZE);
    if (messages.droppedPartitions > 0 || messages.deletedMessages > 0) {
      this.logger.log(
        {
          droppedPartitions: messages.droppedPartitions,
          deletedMessages: messages.deletedMessages,
          stepMs: messages.stepMs,
        },
        'purge: expired messages removed',
      );
    }
    if (messages.createdDays === null) {
      this.logger.warn('purge: partitions ahead not checked (table lock busy); next run retries');
    }
    // Every run is on the record, those that removed nothing too.
    await timed('log', () => this.purgeLog.record(messages));
    // The senders hear of what this run recorded from the record's next run
    // (EXPIRY_INTERVAL_SECONDS), which sends every notice owed: told here too,
    // a day's worth of them would lengthen the purge job.
    return { ...messages, closingMs };
  }

  /** One run of the side-row purge (also called directly by tests). */
  async purgeSideRowsNow(): Promise<SideRowPurgeRun> {
    const result = await this.purge.purgeExpiredSideRows(this.env.PURGE_BATCH_SIZE);
    if (!result.complete) {
      this.logger.warn(
        { deletedRows: result.deletedRows },
        'purge: expired claims and fan-out marks deleted, more left for the next run',
      );
    }
    // A few rows a run (one per login, token and link code made): not batched.
    return { ...result, secrets: await this.identity.deleteExpiredSecrets() };
  }
}
