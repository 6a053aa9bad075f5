import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Batcher } from '../common/batcher.js';
import { MessageEvents } from '../messages/message-events.js';
import type { JobPayloads } from '../queue/job-payloads.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';

type FanoutJobData = JobPayloads[typeof JOBS.fanoutMessage];

/** The fixed job id makes enqueueing a message's fan-out idempotent (BullMQ ids may not contain ':'). */
export const fanoutJobId = (messageId: string): string => `fanout-${messageId}`;

/** Enqueues one fan-out job per accepted message. */
@Injectable()
export class FanoutProducer implements OnModuleInit {
  constructor(
    private readonly events: MessageEvents,
    @InjectQueue(QUEUES.fanout)
    private readonly queue: Queue<FanoutJobData>,
  ) {}

  // Messages accepted in the same event-loop turn are enqueued in one round trip.
  private readonly accepted = new Batcher(
    async (fanouts: FanoutJobData[]) => {
      await this.enqueue(fanouts);
      return fanouts;
    },
    { keyOf: (fanout) => fanout.messageId },
  );

  onModuleInit(): void {
    this.events.onAccepted(async (accepted) => {
      await this.accepted.load(accepted);
    });
  }

  async enqueue(fanouts: FanoutJobData[]): Promise<void> {
    await this.queue.addBulk(
      fanouts.map((data) => ({
        name: JOBS.fanoutMessage,
        data,
        opts: { jobId: fanoutJobId(data.messageId) },
      })),
    );
  }
}
