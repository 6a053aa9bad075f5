import type { JOBS } from './queue-names.js';

/** Every job's payload, keyed by job name. Ids only: never ciphertext, keys or tokens. */
export interface JobPayloads {
  // deviceIds: the devices the message was addressed to, so the job needs no
  // read to find them; absent when the reconciler re-enqueues (it reads them).
  [JOBS.fanoutMessage]: { messageId: string; deviceIds?: string[] };
  [JOBS.purgeExpired]: Record<string, never>;
  [JOBS.reconcileFanout]: Record<string, never>;
}
