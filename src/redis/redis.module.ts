import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AfterCommitWork } from '../common/after-commit.js';
import calculateSlot from 'cluster-key-slot';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { ENV, type Env } from '../config/env.js';
import { writeOncePerTurn } from './writes-per-turn.js';

export const REDIS = Symbol('redis:client');

/**
 * A standalone Redis or a Redis Cluster (REDIS_CLUSTER_NODES): the same
 * commands on either. A command naming several keys (MGET, our Lua scripts)
 * must keep them in one slot on a cluster: see `bySlot`.
 */
export type RedisClient = Redis | Cluster;
export const REDIS_KEYS = Symbol('redis:keys');
/**
 * On a Redis Cluster, the connection BullMQ's queues share (its workers
 * duplicate it); null on a standalone Redis, where BullMQ opens its own
 * connections from options (QueueModule).
 */
export const BULLMQ_CLUSTER_CONNECTION = Symbol('redis:bullmq-cluster');

/** Builds every Redis key of ours under the configured prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}

/**
 * Deletes the keys matching `pattern` whose name contains one of `ids`, in one
 * SCAN pass (a walk of the whole keyspace in batches: for rare clean-ups, such
 * as an account's deletion, never on a hot path). Returns how many went.
 */
export function deleteKeysNaming(
  redis: RedisClient,
  pattern: string,
  ids: string[],
): Promise<number> {
  return deleteKeysMatching(redis, pattern, (key) => ids.some((id) => key.includes(id)));
}

/** Deletes the keys matching `pattern` (and `keep`), in one SCAN pass of every master. */
export async function deleteKeysMatching(
  redis: RedisClient,
  pattern: string,
  keep: (key: string) => boolean = () => true,
): Promise<number> {
  let deleted = 0;
  // A cluster's keys are spread over its masters: each is scanned.
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const doomed = keys.filter(keep);
      for (const group of bySlot(redis, doomed))
        deleted += await redis.unlink(...group.map((index) => doomed[index]));
    } while (cursor !== '0');
  }
  return deleted;
}

/**
 * The indexes of `keys` in groups that one multi-key command may name: on a
 * cluster, one group per hash slot (a command across slots fails with
 * CROSSSLOT); on a standalone Redis, all of them in one. Callers run one
 * command per group, at once.
 */
export function bySlot(redis: RedisClient, keys: string[]): number[][] {
  const all = keys.map((_key, index) => index);
  if (!(redis instanceof Cluster) || keys.length === 0) return keys.length === 0 ? [] : [all];
  const groups = new Map<number, number[]>();
  for (const index of all) {
    const slot = calculateSlot(keys[index]);
    const group = groups.get(slot);
    if (group) group.push(index);
    else groups.set(slot, [index]);
  }
  return [...groups.values()];
}

/**
 * Runs a multi-key command once per group of `bySlot` (with that group's
 * keys) and answers one result per key, in the order of `keys`: `run` must
 * answer one result per key it is given.
 */
export async function perSlot<T>(
  redis: RedisClient,
  keys: string[],
  run: (keys: string[]) => Promise<T[]>,
): Promise<T[]> {
  // On every send (queue places, notice numbers, presence): nothing to group standalone.
  if (!(redis instanceof Cluster)) return run(keys);
  const groups = bySlot(redis, keys);
  if (groups.length === 1) return run(keys);
  const results = new Array<T>(keys.length);
  await Promise.all(
    groups.map(async (group) => {
      const answers = await run(group.map((index) => keys[index]));
      group.forEach((index, position) => (results[index] = answers[position]));
    }),
  );
  return results;
}

/** The seed nodes of REDIS_CLUSTER_NODES, as ioredis's Cluster takes them. */
function clusterSeeds(nodes: string[]): { host: string; port: number }[] {
  return nodes.map((node) => {
    const url = new URL(node);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
}

/** The options of every connection of ours, standalone or to each node of a cluster. */
function connectionOptions(options: { forWorker?: boolean }): RedisOptions {
  return {
    // Commands fail fast while Redis is down instead of queueing forever:
    // requests answer 503 rather than hang. BullMQ workers need null here.
    maxRetriesPerRequest: options.forWorker ? null : 1,
    enableOfflineQueue: options.forWorker ?? false,
    connectTimeout: 3000,
    lazyConnect: false,
  };
}

/**
 * A connection to the configured Redis: the cluster of REDIS_CLUSTER_NODES
 * when set, else REDIS_URL. `forWorker`: commands wait for a connection
 * instead of failing (BullMQ). `subscriber`: a connection for SUBSCRIBE, or
 * on a cluster SSUBSCRIBE (each channel on the node of its slot).
 */
export function createRedis(
  env: Env,
  options: { forWorker?: boolean; subscriber?: boolean } = {},
): RedisClient {
  const base = connectionOptions({ forWorker: options.forWorker || options.subscriber });
  if (env.REDIS_CLUSTER_NODES.length === 0) {
    const redis = new Redis(env.REDIS_URL, { ...base, enableAutoPipelining: false });
    // Commands issued in the same event-loop turn go out in one write.
    if (!options.subscriber) writeOncePerTurn(redis);
    return redis;
  }
  const cluster: ClusterOptions = {
    redisOptions: base,
    enableOfflineQueue: base.enableOfflineQueue,
    // Not on a cluster: ioredis groups an auto-pipeline by the slot of each
    // command's first argument, which for EVALSHA (our Lua scripts) is the
    // script's hash, not a key, and the pipeline fails with keys of
    // several slots.
    enableAutoPipelining: false,
    shardedSubscribers: options.subscriber ?? false,
    // A failover moves slots: commands caught in it are retried on the new master.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
  };
  const redis = new Cluster(clusterSeeds(env.REDIS_CLUSTER_NODES), cluster);
  // Each node's connection, as it is made (failovers make new ones), writes
  // the commands of one event-loop turn in one write, as a standalone one does.
  if (!options.subscriber) redis.on('+node', (node: Redis) => writeOncePerTurn(node));
  return redis;
}

/** Waits for the first connection; a Redis that is down does not stop the boot (readiness says 503). */
function waitUntilReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(BULLMQ_CLUSTER_CONNECTION) private readonly bullmq: Cluster | null,
    private readonly afterCommit: AfterCommitWork,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.afterCommit.settled();
    this.redis.disconnect();
    // BullMQ does not close a connection it was given.
    this.bullmq?.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ENV],
      useFactory: async (env: Env) => {
        const redis = createRedis(env);
        // Errors surface on the commands that need Redis; the event must not crash.
        redis.on('error', () => undefined);
        await waitUntilReady(redis, 3000);
        return redis;
      },
    },
    {
      provide: REDIS_KEYS,
      inject: [ENV],
      useFactory: (env: Env) => new RedisKeys(env.REDIS_PREFIX),
    },
    {
      provide: BULLMQ_CLUSTER_CONNECTION,
      inject: [ENV],
      useFactory: (env: Env) =>
        env.REDIS_CLUSTER_NODES.length > 0 ? createRedis(env, { forWorker: true }) : null,
    },
    RedisCloser,
  ],
  exports: [REDIS, REDIS_KEYS, BULLMQ_CLUSTER_CONNECTION],
})
export class RedisModule {}
