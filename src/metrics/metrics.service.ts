import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of this process. Labels are route templates, statuses
 * and job names only: never ids, bodies, keys or tokens.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Histogram({
    name: 'supernode_http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly messagesAccepted = new Counter({
    name: 'supernode_messages_accepted_total',
    help: 'Messages accepted (stored)',
    registers: [this.registry],
  });

  readonly ephemeralSends = new Counter({
    name: 'supernode_ephemeral_sends_total',
    help: 'Ephemeral messages accepted (delivered to open streams only, never stored)',
    registers: [this.registry],
  });

  readonly pushes = new Counter({
    name: 'supernode_pushes_total',
    help: 'Web Push requests by outcome (delivered, gone, retry, refused, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveriesAcked = new Counter({
    name: 'supernode_deliveries_acked_total',
    help: 'Deliveries acked by devices',
    registers: [this.registry],
  });

  readonly streamConnections = new Gauge({
    name: 'supernode_stream_connections',
    help: 'Open WebSocket stream connections on this process',
    registers: [this.registry],
  });

  readonly jobs = new Histogram({
    name: 'supernode_job_duration_seconds',
    help: 'Job processing time by job name and outcome',
    // Not "job": Prometheus gives that label to the scrape target.
    labelNames: ['job_name', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'supernode_' });
  }
}
