import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AfterCommitWork } from '../common/after-commit.js';
import { QUEUES } from './queue-names.js';

type ClosableQueue = Queue & Partial<OnApplicationShutdown>;

/**
 * A queue closes only once the after-commit work that enqueues on it (the
 * fan-out of a send just accepted, a wake-up push) is done, like the pool and
 * Redis. @nestjs/bullmq closes each queue in a shutdown hook of its own,
 * which Nest may call before the closers that wait for that work: the
 * enqueue then failed on a closed connection and the message waited for the
 * reconciler.
 */
@Injectable()
export class QueuesCloseAfterWork implements OnModuleInit {
  constructor(
    @InjectQueue(QUEUES.fanout) private readonly fanout: ClosableQueue,
    @InjectQueue(QUEUES.push) private readonly push: ClosableQueue,
    @InjectQueue(QUEUES.retention) private readonly retention: ClosableQueue,
    private readonly afterCommit: AfterCommitWork,
  ) {}

  onModuleInit(): void {
    for (const queue of [this.fanout, this.push, this.retention]) {
      const close = queue.onApplicationShutdown;
      if (!close) throw new Error(`queue ${queue.name} has no shutdown hook to defer`);
      queue.onApplicationShutdown = async (signal) => {
        await this.afterCommit.settled();
        await close.call(queue, signal);
      };
    }
  }
}
