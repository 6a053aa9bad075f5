import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { BullMQOtel } from 'bullmq-otel';
import { ENV, type Env, tracingOn } from '../config/env.js';
import type { Cluster } from 'ioredis';
import { BULLMQ_CLUSTER_CONNECTION } from '../redis/redis.module.js';
import { bullPrefix, PUSH_BACKOFF, QUEUES } from './queue-names.js';
import { QueueDepthMetrics } from './queue-depth.metrics.js';
import { QueueErrorLogger } from './queue-error.logger.js';
import { QueuesCloseAfterWork } from './queues-close-after-work.js';
import { ScheduleKeeper } from './schedule-keeper.js';

// Defaults live where the queues are registered: retries with backoff, and
// bounded history so Redis does not grow with every job ever run.
const DEFAULT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      // On a standalone Redis, BullMQ makes its own connections from these
      // options; on a Redis Cluster it takes one connection, which each queue
      // shares and each worker duplicates. No auto-pipelining: with jobs of
      // many messages there is rarely a second command to share a write
      // with, and ioredis builds each auto-pipeline by copying every BullMQ
      // script onto it (measured: more worker CPU with it than without).
      // With tracing on, adding and running a job are spans of the trace
      // that added it (BullMQ carries the context in the job).
      inject: [ENV, BULLMQ_CLUSTER_CONNECTION],
      useFactory: (env: Env, cluster: Cluster | null) => ({
        connection: cluster ?? { url: env.REDIS_URL, maxRetriesPerRequest: null },
        prefix: bullPrefix(env.REDIS_PREFIX),
        ...(tracingOn(env)
          ? { telemetry: new BullMQOtel({ tracerName: 'supernode-queues' }) }
          : {}),
      }),
    }),
    BullModule.registerQueueAsync({
      name: QUEUES.fanout,
      inject: [ENV],
      // A fan-out's outcome is recorded in PostgreSQL (its fanout_pending row
      // goes when it is done), so its job can go at once, finished or failed:
      // keeping history costs Redis work on every job, and a kept failed job
      // would hold its id, so that the reconciler's retry of the message
      // under the same id would be ignored as a duplicate forever.
      useFactory: (env: Env) => ({
        defaultJobOptions: {
          ...DEFAULT_JOB_OPTIONS,
          attempts: env.FANOUT_ATTEMPTS,
          removeOnComplete: true,
          removeOnFail: true,
        },
      }),
    }),
    BullModule.registerQueueAsync({
      name: QUEUES.push,
      inject: [ENV],
      // Retries follow the push service's Retry-After when it gives one
      // (push.processor.ts); a push that no longer matters (the device
      // connected, its messages expired) is dropped by the processor.
      useFactory: (env: Env) => ({
        defaultJobOptions: {
          ...DEFAULT_JOB_OPTIONS,
          attempts: env.PUSH_ATTEMPTS,
          backoff: { type: PUSH_BACKOFF, delay: 1000 },
          removeOnComplete: true,
          removeOnFail: { count: 1000 },
        },
      }),
    }),
    BullModule.registerQueue({
      name: QUEUES.retention,
      defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, attempts: 3 },
    }),
  ],
  providers: [ScheduleKeeper, QueueErrorLogger, QueueDepthMetrics, QueuesCloseAfterWork],
  exports: [BullModule, ScheduleKeeper],
})
export class QueueModule {}
