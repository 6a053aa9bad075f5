import type { JOBS } from './queue-names.js';

/** Every job's payload, keyed by job name. Ids only: never ciphertext, keys or tokens. */
export interface JobPayloads {
  [JOBS.fanoutMessage]: { messageId: string };
  [JOBS.purgeExpired]: Record<string, never>;
  [JOBS.reconcileFanout]: Record<string, never>;
}
