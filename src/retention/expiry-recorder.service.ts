import { Injectable } from '@nestjs/common';
import { DeviceQueues } from '../messages/device-queues.js';
import { ExpiryRecordsRepository } from '../messages/expiry-records.repository.js';
import type { ExpiryRecordResult } from './retention.types.js';
import { throttledBatches } from './throttled-batches.js';

/**
 * Records messages as they expire, in bounded batches (docs/protocol.md,
 * "Expiry seen by the sender"): which devices never acked each one (its
 * sender's status, and the `expired` frames owed), and what comes off each
 * device's queue count. Run every few
 * seconds on its own schedule and at the start of each purge: the purge then
 * finds a day already recorded and only drops it, instead of scanning
 * millions of rows at the end of the day.
 */
@Injectable()
export class ExpiryRecorder {
  constructor(
    private readonly records: ExpiryRecordsRepository,
    private readonly queues: DeviceQueues,
  ) {}

  /** Records, `batchSize` messages at a time, what expired; at most half the time and `budgetMs`. */
  async recordExpired(batchSize: number, budgetMs: number): Promise<ExpiryRecordResult> {
    await this.records.ensureProgress();
    const cutoff = await this.records.cutoff();
    const total: ExpiryRecordResult = { messages: 0, expiredUnread: 0, complete: false };
    const { complete } = await throttledBatches(budgetMs, async () => {
      const batch = await this.records.recordBatch(batchSize, cutoff);
      total.messages += batch.messages;
      total.expiredUnread += batch.recorded;
      // After the commit: a crash in between leaves the counts high until their keys expire.
      await Promise.all(
        batch.released.map(({ deviceId, count }) => this.queues.released(deviceId, count)),
      );
      return batch;
    });
    total.complete = complete;
    return total;
  }
}
