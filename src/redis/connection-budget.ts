import { QUEUES } from '../queue/queue-names.js';

type Role = 'api' | 'worker' | 'all';

/**
 * How many Redis connections a process of each role holds: one for its own
 * commands, one per BullMQ queue it enqueues on (every role enqueues), the
 * live-routing subscriber where clients are served, and two per BullMQ
 * worker (its commands and its blocking wait) where workers run. Stated so
 * that a fleet can be sized against Redis's maxclients (docs/scale-out.md);
 * a test counts them on real processes.
 */
export function redisConnectionsFor(role: Role): number {
  const queues = Object.keys(QUEUES).length;
  const servesClients = role !== 'worker';
  const runsWorkers = role !== 'api';
  return 1 + queues + (servesClients ? 1 : 0) + (runsWorkers ? 2 * queues : 0);
}
