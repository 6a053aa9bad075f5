import { describeError } from '../common/describe-error.js';
import { WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * A WorkerHost whose worker errors are logged instead of crashing the process
 * (an EventEmitter 'error' with no listener throws): after Redis loses its
 * keys, BullMQ reports the jobs it can no longer finish this way. Job
 * durations go to the metrics.
 */
export abstract class LoggedWorkerHost extends WorkerHost implements OnApplicationBootstrap {
  protected readonly logger = new Logger(this.constructor.name);
  @Inject(MetricsService) private readonly metrics!: MetricsService;

  async onApplicationBootstrap(): Promise<void> {
    this.worker.on('error', (error) => this.logger.warn(`worker error: ${describeError(error)}`));
    this.worker.on('completed', (job) =>
      this.observe(job.name, 'completed', job.processedOn, job.finishedOn),
    );
    this.worker.on(
      'failed',
      (job) => job && this.observe(job.name, 'failed', job.processedOn, job.finishedOn),
    );
    await this.onWorkerReady();
  }

  /** Setup that needs the worker (concurrency, schedules). */
  protected async onWorkerReady(): Promise<void> {}

  private observe(job: string, outcome: string, startedAt?: number, finishedAt?: number): void {
    if (startedAt && finishedAt)
      this.metrics.jobs.observe({ job, outcome }, (finishedAt - startedAt) / 1000);
  }
}
