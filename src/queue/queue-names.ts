// Queue and job names are persisted in Redis with every job: never rename
// one without a migration plan for the jobs already queued under it.
export const QUEUES = {
  fanout: 'fanout',
  retention: 'retention',
  push: 'push',
} as const;

export const JOBS = {
  fanoutMessage: 'fanout-message',
  purgeExpired: 'purge-expired',
  purgeSideRows: 'purge-side-rows',
  recordExpiries: 'record-expiries',
  pushWakeup: 'push-wakeup',
  unlinkIdleDevices: 'unlink-idle-devices',
} as const;

/**
 * The key prefix of every queue: `{bull}` is a Redis Cluster hash tag, so
 * that all of a queue's keys, which BullMQ's scripts name several at a time,
 * fall in one slot. (All queues share that slot, hence one shard: see
 * docs/scale-out.md.)
 */
export const bullPrefix = (redisPrefix: string): string => `${redisPrefix}:{bull}`;

/** The push queue's backoff type: the push processor's strategy (Retry-After, else exponential). */
export const PUSH_BACKOFF = 'push';

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export type JobName = (typeof JOBS)[keyof typeof JOBS];

/**
 * The job names each queue carries. Its processor maps exactly these to
 * handlers (JobHandlers: the compiler fails on a missing or an extra name),
 * and a worker refuses to start when its handlers and this list differ.
 */
export const QUEUE_JOBS = {
  [QUEUES.fanout]: [JOBS.fanoutMessage],
  [QUEUES.push]: [JOBS.pushWakeup],
  [QUEUES.retention]: [
    JOBS.recordExpiries,
    JOBS.purgeExpired,
    JOBS.purgeSideRows,
    JOBS.unlinkIdleDevices,
  ],
} as const satisfies Record<QueueName, readonly JobName[]>;

export type JobNameOf<Q extends QueueName> = (typeof QUEUE_JOBS)[Q][number];

// Every job name is carried by some queue: a name left out fails here.
type JobWithoutQueue = Exclude<JobName, JobNameOf<QueueName>>;
export const EVERY_JOB_HAS_A_QUEUE: [JobWithoutQueue] extends [never] ? true : JobWithoutQueue =
  true;
