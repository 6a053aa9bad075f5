import type { Job } from 'bullmq';
import type { TraceCarrier } from '../telemetry/trace-context.js';
import type { JobName, JOBS } from './queue-names.js';

/**
 * One message to fan out. deviceIds: the devices it was addressed to, so the
 * job needs no read to find them; absent when the reconciler re-enqueues (it
 * reads the devices that still have the message pending).
 */
export interface FanoutTarget {
  messageId: string;
  deviceIds?: string[];
  /** For an urgent message: its expiry, until which sleeping devices get a high-urgency push. */
  urgentUntil?: string;
  /** The request that sent it, for the log lines of its fan-out (absent when the reconciler re-enqueues). */
  requestId?: string;
  /** With tracing on: the send's trace, continued by the routing and the frames. */
  trace?: TraceCarrier;
}

/** A wake-up push for one device; `urgentUntil` makes it an urgent one (see WakeupService). */
export interface PushWakeup {
  deviceId: string;
  urgentUntil?: string;
}

/** Every job's payload, keyed by job name. Ids only: never ciphertext, keys or tokens. */
export interface JobPayloads {
  // The messages accepted within a few milliseconds, fanned out by one job.
  // A bare FanoutTarget is the one-message payload of jobs enqueued before
  // jobs carried batches; the processor still takes it.
  [JOBS.fanoutMessage]: { messages: FanoutTarget[] } | FanoutTarget;
  [JOBS.purgeExpired]: Record<string, never>;
  [JOBS.purgeSideRows]: Record<string, never>;
  [JOBS.recordExpiries]: Record<string, never>;
  [JOBS.pushWakeup]: PushWakeup;
  [JOBS.unlinkIdleDevices]: Record<string, never>;
}

// Every job name has a payload, and nothing else does.
type PayloadsCheck = [Exclude<JobName, keyof JobPayloads>, Exclude<keyof JobPayloads, JobName>];
export const EVERY_JOB_HAS_A_PAYLOAD: PayloadsCheck extends [never, never] ? true : PayloadsCheck =
  true;

/** A job of the given name, with its payload. */
export type JobOf<N extends JobName> = Job<JobPayloads[N], unknown, N>;
