import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Batcher } from '../common/batcher.js';
import { MessageEvents } from '../messages/message-events.js';
import type { FanoutTarget, JobPayloads } from '../queue/job-payloads.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';

type FanoutJobData = JobPayloads[typeof JOBS.fanoutMessage];

// Bounds a job's payload (ids only: about 150 bytes per message to 3 devices).
export const MAX_MESSAGES_PER_JOB = 100;

/**
 * The fixed job id makes enqueueing a fan-out idempotent: the same batch
 * enqueued twice (two reconcilers reading the same rows) runs once. BullMQ
 * ids may not contain ':'.
 */
export const fanoutJobId = (firstMessageId: string): string => `fanout-${firstMessageId}`;

/**
 * Enqueues the fan-out of accepted messages: one job for the messages
 * accepted in the same event-loop turn (in practice one insert batch), since
 * a BullMQ job's own cost (its Redis scripts, its worker round trips) is many
 * times that of routing one message.
 */
@Injectable()
export class FanoutProducer implements OnModuleInit {
  constructor(
    private readonly events: MessageEvents,
    @InjectQueue(QUEUES.fanout)
    private readonly queue: Queue<FanoutJobData>,
  ) {}

  private readonly accepted = new Batcher(
    async (targets: FanoutTarget[]) => {
      await this.enqueue(targets);
      return targets;
    },
    { keyOf: (target) => target.messageId },
  );

  onModuleInit(): void {
    this.events.onAccepted(async (accepted) => {
      await this.accepted.load(accepted);
    });
  }

  async enqueue(targets: FanoutTarget[]): Promise<void> {
    const jobs = [];
    for (let start = 0; start < targets.length; start += MAX_MESSAGES_PER_JOB) {
      const messages = targets.slice(start, start + MAX_MESSAGES_PER_JOB);
      jobs.push({
        name: JOBS.fanoutMessage,
        data: { messages },
        opts: { jobId: fanoutJobId(messages[0].messageId) },
      });
    }
    await this.queue.addBulk(jobs);
  }
}
