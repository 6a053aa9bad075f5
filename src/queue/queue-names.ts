// Queue and job names are persisted in Redis with every job: never rename
// one without a migration plan for the jobs already queued under it.
export const QUEUES = {
  fanout: 'fanout',
  retention: 'retention',
} as const;

export const JOBS = {
  fanoutMessage: 'fanout-message',
  purgeExpired: 'purge-expired',
  purgeSideRows: 'purge-side-rows',
  reconcileFanout: 'reconcile-fanout',
} as const;
