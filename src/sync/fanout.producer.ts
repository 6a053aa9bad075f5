import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Batcher } from '../common/batcher.js';
import { PresenceService } from '../directory/presence.service.js';
import { MessageEvents } from '../messages/message-events.js';
import { FanoutTrackingService } from '../messages/fanout-tracking.service.js';
import { WakeupService } from '../push/wakeup.service.js';
import type { FanoutTarget, JobPayloads } from '../queue/job-payloads.js';
import { JOBS, QUEUES } from '../queue/queue-names.js';
import { carryTrace, inCarriedContext } from '../telemetry/trace-context.js';

type FanoutJobData = JobPayloads[typeof JOBS.fanoutMessage];
type AddressedMessage = FanoutTarget & { deviceIds: string[] };

// Accepted messages gather this long into one presence look-up and one job.
// A job's BullMQ commands cost more than routing its messages, so fewer,
// larger jobs spare the worker's and Redis's CPU (BENCHMARKS.md, 'Decisions
// the measurements justify'). It delays only devices connected to another
// process, and wake-up pushes: the sockets of the accepting process get their
// frames at once.
const FANOUT_LINGER_MS = 5;

// Bounds a job's payload (ids only: about 150 bytes per message to 3 devices).
export const MAX_MESSAGES_PER_JOB = 100;

/**
 * The fixed job id makes enqueueing a fan-out idempotent: the same batch
 * enqueued twice (two reconcilers reading the same rows) runs once. BullMQ
 * ids may not contain ':'.
 */
export const fanoutJobId = (firstMessageId: string): string => `fanout-${firstMessageId}`;

/**
 * Fans out accepted messages from the process that accepted them, as far as
 * that process can: the stream gateway has already sent each message to the
 * sockets held here, so what is left is to ask a wake-up push for the devices
 * that are not connected anywhere (WakeupService: those with a subscription). Only a message with a device
 * connected to another process needs a BullMQ job (its routing is the
 * worker's). Presence, read once for the messages accepted within
 * FANOUT_LINGER_MS, after their commit, says which is which.
 *
 * Why not always a job, as DESIGN.md first said: under ingest with devices
 * offline, the jobs took much of the worker's and Redis's CPU for a result
 * (wake-up requests) this process makes with one look-up (BENCHMARKS.md,
 * 'Decisions the measurements justify'). A crash before the requests leaves
 * the messages in `fanout_pending`, and the reconciler enqueues them then.
 */
@Injectable()
export class FanoutProducer implements OnModuleInit {
  constructor(
    private readonly events: MessageEvents,
    private readonly tracking: FanoutTrackingService,
    private readonly presence: PresenceService,
    private readonly wakeups: WakeupService,
    @InjectQueue(QUEUES.fanout)
    private readonly queue: Queue<FanoutJobData>,
  ) {}

  // Nobody waits for these marks (the reconciler's grace is seconds), so
  // they gather for a while: one statement for many messages.
  private readonly fannedOutHere = new Batcher(
    async (messageIds: string[]) => {
      await this.tracking.markFannedOut(messageIds);
      return messageIds;
    },
    { lingerMs: 50, maxBatch: 1000 },
  );

  private readonly accepted = new Batcher(
    async (targets: AddressedMessage[]) => {
      await this.fanOut(targets);
      return targets;
    },
    { keyOf: (target) => target.messageId, lingerMs: FANOUT_LINGER_MS },
  );

  onModuleInit(): void {
    // Ids only go into the job: never the copy of the message the event may carry.
    // The request id goes with the job, for its log lines.
    // So is the send's trace, which the job, the routing and the frames continue.
    this.events.onAccepted(async ({ messageId, deviceIds, urgentUntil, requestId }) => {
      await this.accepted.load({
        messageId,
        deviceIds,
        urgentUntil,
        requestId,
        trace: carryTrace(),
      });
    });
  }

  private async fanOut(targets: AddressedMessage[]): Promise<void> {
    const owners = await this.presence.locate([
      ...new Set(targets.flatMap((target) => target.deviceIds)),
    ]);
    const here = this.presence.processId;
    const heldElsewhere = (deviceId: string): boolean =>
      owners.has(deviceId) && owners.get(deviceId) !== here;
    const routed: AddressedMessage[] = [];
    const settled: AddressedMessage[] = [];
    for (const target of targets) {
      (target.deviceIds.some(heldElsewhere) ? routed : settled).push(target);
    }
    await Promise.all([
      this.enqueue(routed),
      this.wakeups.requestForMessages(settled, (deviceId) => !owners.has(deviceId)),
    ]);
    await Promise.all(settled.map((target) => this.fannedOutHere.load(target.messageId)));
  }

  async enqueue(targets: FanoutTarget[]): Promise<void> {
    if (targets.length === 0) return;
    const jobs: Parameters<typeof this.queue.addBulk>[0] = [];
    for (let start = 0; start < targets.length; start += MAX_MESSAGES_PER_JOB) {
      const messages = targets.slice(start, start + MAX_MESSAGES_PER_JOB);
      jobs.push({
        name: JOBS.fanoutMessage,
        data: { messages },
        opts: { jobId: fanoutJobId(messages[0].messageId) },
      });
    }
    // The jobs join the first message's trace (the others carry their own in the payload).
    await inCarriedContext(targets[0].trace, () => this.queue.addBulk(jobs));
  }
}
