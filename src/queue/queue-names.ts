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
  reconcileFanout: 'reconcile-fanout',
  pushWakeup: 'push-wakeup',
  unlinkIdleDevices: 'unlink-idle-devices',
} as const;

/** The push queue's backoff type: the push processor's strategy (Retry-After, else exponential). */
export const PUSH_BACKOFF = 'push';
