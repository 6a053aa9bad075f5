import { sleep } from '../lib/clock.js';
import { holdLock, type Scenario } from './run.js';

// A supervisor (systemd, Kubernetes) starts a killed process again; here, after this long.
const RESTART_AFTER_MS = 2000;

/** The faults of `npm run faults`, one per run, each injected once mid-load. */
export const SCENARIOS: Scenario[] = [
  {
    // The control: the same load with no fault, so that the other rows can be
    // read against what this host does when nothing fails.
    name: 'none',
    what: 'no fault (the control)',
    inject: async () => undefined,
  },
  {
    name: 'kill-sender-api',
    what: "SIGKILL of the senders' API process, started again 2 s later",
    inject: (cluster) => cluster.sendApi.killAndRestart('SIGKILL', RESTART_AFTER_MS),
  },
  {
    name: 'kill-recipient-api',
    what: "SIGKILL of the recipients' API process (their streams), started again 2 s later",
    inject: (cluster) => cluster.recipientApi.killAndRestart('SIGKILL', RESTART_AFTER_MS),
  },
  {
    name: 'kill-worker',
    what: 'SIGKILL of the worker, started again 2 s later',
    inject: (cluster) => cluster.worker.killAndRestart('SIGKILL', RESTART_AFTER_MS),
  },
  {
    name: 'stop-worker',
    what: 'SIGSTOP of the worker for 20 s, then SIGCONT (stalled jobs, lock expiry)',
    inject: async (cluster) => {
      cluster.worker.signal('SIGSTOP');
      await sleep(20_000);
      cluster.worker.signal('SIGCONT');
    },
  },
  {
    name: 'term-sender-api',
    what: "SIGTERM of the senders' API process under load (graceful), started again 2 s later",
    inject: (cluster) => cluster.sendApi.killAndRestart('SIGTERM', RESTART_AFTER_MS),
  },
  {
    name: 'redis-flushall',
    what: 'Redis FLUSHALL (queues, presence, notice counters, rate limits gone)',
    inject: async (cluster) => {
      await cluster.redis.command('FLUSHALL');
    },
  },
  {
    name: 'redis-restart',
    what: 'Redis killed and started again 2 s later, empty',
    inject: (cluster) => cluster.redis.restart(RESTART_AFTER_MS),
  },
  {
    name: 'redis-full',
    what: 'Redis refusing writes for 10 s (maxmemory reached, noeviction)',
    inject: async (cluster) => {
      await cluster.redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await cluster.redis.command('CONFIG', 'SET', 'maxmemory', '1');
      await sleep(10_000);
      await cluster.redis.command('CONFIG', 'SET', 'maxmemory', '0');
    },
  },
  {
    name: 'postgres-restart',
    what: 'PostgreSQL restarted (fast: every session cut)',
    inject: (cluster) => cluster.postgres.restart(),
  },
  {
    name: 'postgres-slow',
    what: 'PostgreSQL slow: an ACCESS EXCLUSIVE lock held on deliveries for 10 s',
    inject: (cluster) => holdLock(cluster.databaseUrl, 'deliveries', 10_000),
  },
  {
    name: 'cut-streams',
    what: "every recipient's TCP connection cut without a close frame",
    inject: async (cluster) => {
      await cluster.phones('cut');
    },
  },
  {
    name: 'slow-readers',
    what: 'the phones read slowly for 10 s (their sockets paused 900 ms in every second)',
    inject: async (cluster) => {
      await cluster.phones('readSlowly', { ms: 10_000 }, 30_000);
    },
  },
  {
    name: 'cut-mid-catch-up',
    what: 'the phones offline for 8 s, then each cut without a close frame 100 messages into its catch-up',
    inject: async (cluster) => {
      await cluster.phones('cutMidCatchUp', { offlineMs: 8000, cutAfterMessages: 100 }, 30_000);
    },
  },
];
