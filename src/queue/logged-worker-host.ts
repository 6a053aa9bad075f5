import { WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';

/**
 * A WorkerHost whose worker errors are logged instead of crashing the process
 * (an EventEmitter 'error' with no listener throws): after Redis loses its
 * keys, BullMQ reports the jobs it can no longer finish this way.
 */
export abstract class LoggedWorkerHost extends WorkerHost implements OnApplicationBootstrap {
  protected readonly logger = new Logger(this.constructor.name);

  async onApplicationBootstrap(): Promise<void> {
    this.worker.on('error', (error) => this.logger.warn(`worker error: ${error.message}`));
    await this.onWorkerReady();
  }

  /** Setup that needs the worker (concurrency, schedules). */
  protected async onWorkerReady(): Promise<void> {}
}
