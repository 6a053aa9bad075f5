import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetricsService } from '../metrics/metrics.service.js';
import { QUEUES } from './queue-names.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
// Redis down: the scrape answers without the queue figures rather than
// waiting for a reconnect (BullMQ's connection retries forever).
const COUNT_TIMEOUT_MS = 1000;

/** `supernode_queue_jobs{queue,state}`: each queue's jobs by state, read from Redis when scraped. */
@Injectable()
export class QueueDepthMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    @InjectQueue(QUEUES.fanout) private readonly fanout: Queue,
    @InjectQueue(QUEUES.push) private readonly push: Queue,
    @InjectQueue(QUEUES.retention) private readonly retention: Queue,
  ) {}

  onModuleInit(): void {
    const queues = [this.fanout, this.push, this.retention];
    new Gauge({
      name: 'supernode_queue_jobs',
      help: 'Jobs in each queue by state (absent when Redis did not answer the scrape in time)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        const counts = await Promise.race([
          Promise.all(queues.map((queue) => queue.getJobCounts(...STATES))),
          sleep(COUNT_TIMEOUT_MS, undefined, { ref: false }),
        ]).catch(() => undefined);
        if (!counts) return;
        queues.forEach((queue, index) => {
          for (const state of STATES)
            this.set({ queue: queue.name, state }, counts[index][state] ?? 0);
        });
      },
    });
  }
}
