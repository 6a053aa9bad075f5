import { describeError } from '../common/describe-error.js';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';

// Job schedulers live in Redis: if Redis loses its keys they are gone, so
// they are upserted again (idempotently) this often.
const REFRESH_MS = 60_000;

interface Schedule {
  queue: Queue;
  id: string;
  everyMs: number;
  jobName: string;
}

/** Keeps BullMQ job schedulers in place, including after Redis loses its keys. */
@Injectable()
export class ScheduleKeeper implements OnApplicationShutdown {
  private readonly logger = new Logger(ScheduleKeeper.name);
  private readonly schedules: Schedule[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Registers a schedule; the first upsert is not awaited, so a Redis that is down cannot hold up the boot. */
  keep(queue: Queue, jobName: string, everyMs: number): void {
    this.schedules.push({ queue, id: jobName, everyMs, jobName });
    void this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), REFRESH_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.schedules.length = 0;
  }

  private async refresh(): Promise<void> {
    for (const schedule of [...this.schedules]) {
      await this.upsert(schedule).catch((error: Error) =>
        this.logger.warn(
          { scheduler: schedule.id, error: describeError(error) },
          'scheduler not registered',
        ),
      );
    }
  }

  private async upsert({ queue, id, everyMs, jobName }: Schedule): Promise<void> {
    await queue.upsertJobScheduler(id, { every: everyMs }, { name: jobName, data: {} });
  }
}
