import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ENV, type Env } from '../config/env.js';
import { DayKeys } from '../messages/at-rest/day-keys.service.js';
import { DeviceQueues } from '../messages/device-queues.js';
import { MessagePurgeRepository } from '../messages/message-purge.repository.js';
import type { PurgeResult, SideRowPurgeResult } from './retention.types.js';

// How long partition DDL may wait for a table lock (inserts queue behind it meanwhile).
const DDL_LOCK_TIMEOUT_MS = 2000;
// The side-row purge works at most half the time (it pauses as long as each
// batch took) and at most this long a run: well above what a sustained ingest
// leaves per run at the purge benchmark's batch times (docs/delivery.md), and
// never a core taken from the sends.
const SIDE_ROW_BUDGET_MS = 10_000;

/** Runs `batch` until one comes back short or `maxBatches` ran; returns the totals. */
async function inBatches(
  batchSize: number,
  maxBatches: number,
  batch: (size: number) => Promise<{ messages: number; bytes: number }>,
): Promise<{ messages: number; bytes: number }> {
  const total = { messages: 0, bytes: 0 };
  for (let index = 0; index < maxBatches; index++) {
    const done = await batch(batchSize);
    total.messages += done.messages;
    total.bytes += done.bytes;
    if (done.messages < batchSize) break;
  }
  return total;
}

/** The purge of expired messages and of their side rows, run by PurgeProcessor. */
@Injectable()
export class PurgeService {
  constructor(
    private readonly repository: MessagePurgeRepository,
    private readonly queues: DeviceQueues,
    private readonly dayKeys: DayKeys,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /**
   * The purge of expired messages: (1) makes sure the daily partitions exist
   * for everything that can be accepted now; (2) drops the partitions whose
   * day is over (the bulk, at the cost of a DROP); (3) deletes, in bounded
   * batches, the expired rows that remain (today's partition and DEFAULT).
   * `maxBatches` bounds that loop (tests use it). Claims and fan-out marks
   * have their own run: `purgeExpiredSideRows`.
   */
  async purgeExpired(
    batchSize: number,
    maxBatches = Number.POSITIVE_INFINITY,
  ): Promise<PurgeResult> {
    const stepMs = {} as PurgeResult['stepMs'];
    const timed = async <T>(step: keyof PurgeResult['stepMs'], work: () => Promise<T>) => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        stepMs[step] = Math.round(performance.now() - started);
      }
    };
    const createdDays = await timed('ensure', () =>
      this.repository.ensurePartitions(this.env.MAX_TTL_SECONDS, DDL_LOCK_TIMEOUT_MS),
    );
    // Held accounts' expired messages are copied aside first: the hold keeps them past expiry.
    const heldCopies = await this.repository.copyHeldBeforePurge();
    // And what expired unread is recorded: the senders' status and their `expired` frames.
    const expiredUnread = await this.repository.recordExpiredUnread();
    const leaving = await this.repository.expiredDeliveriesPerDevice();
    // The keys of the days that are over go before their partitions: the
    // rows' copies elsewhere (backups, replicas, WAL) are unreadable from then.
    const dayKeysDestroyed = await this.dayKeys.destroyEnded();
    const partitions = await timed('drop', () =>
      this.repository.dropEndedPartitions(DDL_LOCK_TIMEOUT_MS),
    );
    const deleted = await timed('delete', () =>
      inBatches(batchSize, maxBatches, (size) => this.repository.deleteExpired(size)),
    );
    // Off the queue counts: what expired is gone from every device's queue.
    await Promise.all(leaving.map(({ deviceId, count }) => this.queues.released(deviceId, count)));
    return {
      createdDays,
      droppedPartitions: partitions.length,
      partitions,
      deletedMessages: deleted.messages,
      deletedBytes: deleted.bytes,
      oldestExpiryLeft: await this.repository.oldestExpiry(),
      heldCopies,
      expiredUnread,
      dayKeysDestroyed,
      stepMs,
    };
  }

  /**
   * Deletes expired idempotency claims and fan-out marks (ids only, no body
   * or key) in batches until none is left, at most half the time and at most
   * SIDE_ROW_BUDGET_MS a run. Kept out of `purgeExpired`: a day's million
   * claims take seconds to delete, and the expired messages should not wait
   * for them. Until its claim goes, a retry of an expired message still gets
   * its first answer and stores nothing.
   */
  async purgeExpiredSideRows(
    batchSize: number,
    budgetMs = SIDE_ROW_BUDGET_MS,
  ): Promise<SideRowPurgeResult> {
    const started = performance.now();
    let deletedRows = 0;
    for (;;) {
      const batchStarted = performance.now();
      const deleted = await this.repository.deleteExpiredSideRows(batchSize);
      deletedRows += deleted;
      if (deleted < batchSize) return { deletedRows, complete: true };
      const batchMs = performance.now() - batchStarted;
      // The pause that follows counts against the budget too.
      const spentMs = performance.now() - started + batchMs;
      if (spentMs > budgetMs) return { deletedRows, complete: false };
      await sleep(batchMs);
    }
  }
}
