import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { MessageEvents } from '../messages/message-events.js';
import type { JobPayloads } from '../queue/job-payloads.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';

/** The fixed job id makes enqueueing a message's fan-out idempotent (BullMQ ids may not contain ':'). */
export const fanoutJobId = (messageId: string): string => `fanout-${messageId}`;

/** Enqueues one fan-out job per accepted message. */
@Injectable()
export class FanoutProducer implements OnModuleInit {
  constructor(
    private readonly events: MessageEvents,
    @InjectQueue(QUEUES.fanout)
    private readonly queue: Queue<JobPayloads[typeof JOBS.fanoutMessage]>,
  ) {}

  onModuleInit(): void {
    this.events.onAccepted((messageId) => this.enqueue([messageId]));
  }

  async enqueue(messageIds: string[]): Promise<void> {
    await this.queue.addBulk(
      messageIds.map((messageId) => ({
        name: JOBS.fanoutMessage,
        data: { messageId },
        opts: { jobId: fanoutJobId(messageId) },
      })),
    );
  }
}
