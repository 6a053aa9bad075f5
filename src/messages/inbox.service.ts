import { Inject, Injectable } from '@nestjs/common';
import { ENV, type Env } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { DeviceQueues } from './device-queues.js';
import { MessageEvents } from './message-events.js';
import type { PendingMessage, PendingPage } from './messages.types.js';

/** A device's inbox: its pending messages read by page (HTTP, the stream), and its acks. */
@Injectable()
export class InboxService {
  constructor(
    private readonly repository: DeliveriesRepository,
    private readonly queues: DeviceQueues,
    private readonly events: MessageEvents,
    private readonly metrics: MetricsService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /** For a process that serves streams: its connections are ready for their reads when they open. */
  planPageReadOnNewConnections(): void {
    this.repository.planPageReadOnNewConnections();
  }

  /**
   * Up to `limit` messages pending for the device, oldest first, and at most
   * PAGE_MAX_BYTES of them; `more` when others wait.
   */
  firstPage(deviceId: string, limit: number): Promise<PendingPage> {
    return this.repository.pending(deviceId, { limit, maxBytes: this.env.PAGE_MAX_BYTES });
  }

  /** A page of pending messages after `afterSeq`, for streaming a backlog. */
  pendingAfter(
    deviceId: string,
    afterSeq: number,
    limit: number,
    maxBytes = this.env.PAGE_MAX_BYTES,
  ): Promise<PendingPage> {
    return this.repository.pending(deviceId, { limit, maxBytes, afterSeq });
  }

  pendingByIds(deviceId: string, messageIds: string[]): Promise<PendingMessage[]> {
    return this.repository.pendingByIds(deviceId, messageIds);
  }

  /** What a wake-up push announces: how many messages wait for the device, until when. */
  pendingSummary(deviceId: string): Promise<{ count: number; lastExpiresAt: Date | null }> {
    return this.repository.pendingSummary(deviceId);
  }

  /**
   * Acks messages for the device; returns how many were pending for it.
   * `keys`: the expiresAtKey of messages the caller read (the stream), which
   * spares the look-up of their partition.
   */
  async ack(
    deviceId: string,
    messageIds: string[],
    keys?: ReadonlyMap<string, string>,
  ): Promise<number> {
    const acked = await this.repository.ack(deviceId, [...new Set(messageIds)], keys);
    this.metrics.deliveriesAcked.inc(acked.length);
    await this.queues.released(deviceId, acked.length);
    this.events.emitAcked(deviceId, acked);
    return acked.length;
  }
}
