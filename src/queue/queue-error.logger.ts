import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { describeError } from '../common/describe-error.js';
import { QUEUES } from './queue-names.js';

/** Queue connection errors (Redis down) go to the log as one line, not to stderr as raw objects. */
@Injectable()
export class QueueErrorLogger implements OnModuleInit {
  private readonly logger = new Logger('Queues');

  constructor(
    @InjectQueue(QUEUES.fanout) private readonly fanout: Queue,
    @InjectQueue(QUEUES.retention) private readonly retention: Queue,
  ) {}

  onModuleInit(): void {
    for (const queue of [this.fanout, this.retention]) {
      queue.on('error', (error) =>
        this.logger.warn({ queue: queue.name, error: describeError(error) }, 'queue error'),
      );
    }
  }
}
