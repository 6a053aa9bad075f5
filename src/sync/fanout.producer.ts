import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Batcher } from '../common/batcher.js';
import { PresenceService } from '../directory/presence.service.js';
import { MessageEvents } from '../messages/message-events.js';
import { MessagesService } from '../messages/messages.service.js';
import type { FanoutTarget, JobPayloads } from '../queue/job-payloads.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';

type FanoutJobData = JobPayloads[typeof JOBS.fanoutMessage];

// Accepted messages gather this long into one job. A job's BullMQ commands
// cost more than routing its messages: at 1,000 msgs/s, 5 ms took the worker
// from 0.33 to 0.22 cores and Redis from 0.22 to 0.14 (BENCHMARKS.md). It
// delays only devices connected to another process, and wake-up marks: the
// sockets of the accepting process get their frames at once.
const FANOUT_LINGER_MS = 5;

// Bounds a job's payload (ids only: about 150 bytes per message to 3 devices).
export const MAX_MESSAGES_PER_JOB = 100;

/**
 * The fixed job id makes enqueueing a fan-out idempotent: the same batch
 * enqueued twice (two reconcilers reading the same rows) runs once. BullMQ
 * ids may not contain ':'.
 */
export const fanoutJobId = (firstMessageId: string): string => `fanout-${firstMessageId}`;

/** The sockets this process holds (the stream gateway, in an API process). */
export interface LocalSockets {
  holdsAll(deviceIds: string[]): boolean;
}

/**
 * Enqueues the fan-out of accepted messages: one job for the messages
 * accepted within FANOUT_LINGER_MS (several insert batches), since
 * a BullMQ job's own cost (its Redis scripts, its worker round trips) is many
 * times that of routing one message.
 *
 * A message whose devices are all connected to this very process needs no
 * job: the stream gateway sent it to them when it was accepted. Presence,
 * read after the commit, confirms that no device has moved to another
 * process meanwhile; then the message is only marked fanned out.
 */
@Injectable()
export class FanoutProducer implements OnModuleInit {
  private localSockets: LocalSockets | undefined;

  constructor(
    private readonly events: MessageEvents,
    private readonly messages: MessagesService,
    private readonly presence: PresenceService,
    @InjectQueue(QUEUES.fanout)
    private readonly queue: Queue<FanoutJobData>,
  ) {}

  /** Called by the gateway of an API process. */
  useLocalSockets(localSockets: LocalSockets): void {
    this.localSockets = localSockets;
  }

  // Nobody waits for these marks (the reconciler's grace is seconds), so
  // they gather for a while: one statement for many messages.
  private readonly fannedOutHere = new Batcher(
    async (messageIds: string[]) => {
      await this.messages.markFannedOut(messageIds);
      return messageIds;
    },
    { lingerMs: 50, maxBatch: 1000 },
  );

  private readonly accepted = new Batcher(
    async (targets: FanoutTarget[]) => {
      await this.enqueue(targets);
      return targets;
    },
    { keyOf: (target) => target.messageId, lingerMs: FANOUT_LINGER_MS },
  );

  onModuleInit(): void {
    // Ids only go into the job: never the copy of the message the event may carry.
    this.events.onAccepted(async ({ messageId, deviceIds }) => {
      if (await this.allHeldHere(deviceIds)) await this.fannedOutHere.load(messageId);
      else await this.accepted.load({ messageId, deviceIds });
    });
  }

  private async allHeldHere(deviceIds: string[]): Promise<boolean> {
    if (!this.localSockets?.holdsAll(deviceIds)) return false;
    const owners = await this.presence.locate(deviceIds);
    return deviceIds.every((deviceId) => owners.get(deviceId) === this.presence.processId);
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
