import { describeError } from '../common/describe-error.js';
import { WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { MetricsService } from '../metrics/metrics.service.js';
import type { JobOf } from './job-payloads.js';
import { type JobNameOf, QUEUE_JOBS, type QueueName } from './queue-names.js';

/** A handler for each job name of queue Q, and for nothing else. */
export type JobHandlers<Q extends QueueName> = {
  [N in JobNameOf<Q>]: (job: JobOf<N>) => Promise<unknown>;
};

/** The names QUEUE_JOBS gives a queue that have no handler, and the handled names it does not give. */
export function handlerMismatch(
  queue: string,
  handled: readonly string[],
): { unhandled: string[]; unknown: string[] } {
  const carried: readonly string[] = Object.hasOwn(QUEUE_JOBS, queue)
    ? QUEUE_JOBS[queue as QueueName]
    : [];
  return {
    unhandled: carried.filter((name) => !handled.includes(name)),
    unknown: handled.filter((name) => !carried.includes(name)),
  };
}

/**
 * A WorkerHost for queue Q that dispatches each job to its handler by name
 * (`handlers`, checked by the compiler against QUEUE_JOBS, and again at boot,
 * where a mismatch stops the worker from starting). Worker errors are logged
 * instead of crashing the process (an EventEmitter 'error' with no listener
 * throws): after Redis loses its keys, BullMQ reports the jobs it can no
 * longer finish this way. Job durations go to the metrics.
 */
export abstract class LoggedWorkerHost<Q extends QueueName>
  extends WorkerHost
  implements OnApplicationBootstrap
{
  protected readonly logger = new Logger(this.constructor.name);
  @Inject(MetricsService) private readonly metrics!: MetricsService;

  protected abstract readonly handlers: JobHandlers<Q>;

  async process(job: Job): Promise<unknown> {
    if (!Object.hasOwn(this.handlers, job.name))
      throw new UnrecoverableError(`no handler for job ${job.name}`);
    const handle = this.handlers[job.name as keyof JobHandlers<Q>] as (
      job: Job,
    ) => Promise<unknown>;
    return handle(job);
  }

  async onApplicationBootstrap(): Promise<void> {
    const mismatch = handlerMismatch(this.worker.name, Object.keys(this.handlers));
    if (mismatch.unhandled.length || mismatch.unknown.length)
      throw new Error(
        `queue ${this.worker.name}: no handler for ${JSON.stringify(mismatch.unhandled)}, ` +
          `handlers for jobs it does not carry ${JSON.stringify(mismatch.unknown)} (see QUEUE_JOBS)`,
      );
    this.worker.on('error', (error) =>
      this.logger.warn({ error: describeError(error) }, 'worker error'),
    );
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

  private observe(jobName: string, outcome: string, startedAt?: number, finishedAt?: number): void {
    if (startedAt && finishedAt)
      this.metrics.jobs.observe({ job_name: jobName, outcome }, (finishedAt - startedAt) / 1000);
  }
}
