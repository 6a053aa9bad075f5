import { Inject, Injectable } from '@nestjs/common';
import { ENV, type Env } from '../config/env.js';
import { DayKeys } from '../messages/at-rest/day-keys.service.js';
import { MessagePurgeRepository } from '../messages/message-purge.repository.js';
import { ExpiryRecorder } from './expiry-recorder.service.js';
import type { PurgeResult, SideRowPurgeResult } from './retention.types.js';
import { stepTimer } from './step-timer.js';
import { throttledBatches } from './throttled-batches.js';

// How long partition DDL may wait for a table lock (inserts queue behind it meanwhile).
const DDL_LOCK_TIMEOUT_MS = 2000;
// The side-row purge works at most half the time (it pauses as long as each
// batch took) and at most this long a run: well above what a sustained ingest
// leaves per run at the purge benchmark's batch times (docs/delivery.md), and
// never a core taken from the sends.
const SIDE_ROW_BUDGET_MS = 10_000;
// The expiry record's time budget a run (its schedule's or a purge's), at
// most half of it working: a backlog (after downtime) is caught up over
// several runs instead of taking PostgreSQL from the sends.
export const EXPIRY_RECORD_BUDGET_MS = 30_000;

const NOTHING_DELETED = Object.freeze({ messages: 0, bytes: 0 });

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
    private readonly recorder: ExpiryRecorder,
    private readonly dayKeys: DayKeys,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /**
   * The purge of expired messages: (1) records what expired since the
   * recorder's last run (usually nothing: it runs every few seconds); (2)
   * makes sure the daily partitions exist for everything that can be
   * accepted now; (3) drops the partitions whose day is over and recorded
   * (the bulk, at the cost of a DROP); (4) deletes, in bounded batches, the
   * recorded expired rows that remain (today's partition and DEFAULT), when
   * any stored message has expired.
   * `maxBatches` bounds that loop (tests use it). Claims and fan-out marks
   * have their own run: `purgeExpiredSideRows`.
   */
  async purgeExpired(
    batchSize: number,
    maxBatches = Number.POSITIVE_INFINITY,
  ): Promise<PurgeResult> {
    const { ms: stepMs, timed } = stepTimer<keyof PurgeResult['stepMs']>();
    // Nothing goes before it is recorded: the purge stays behind the record.
    const recorded = await timed('record', () =>
      this.recorder.recordExpired(batchSize, EXPIRY_RECORD_BUDGET_MS),
    );
    const createdDays = await timed('ensure', () =>
      this.repository.ensurePartitions(this.env.MAX_TTL_SECONDS, DDL_LOCK_TIMEOUT_MS),
    );
    // Held accounts' expired messages are copied aside first: the hold keeps them past expiry.
    const heldCopies = await timed('held', () => this.repository.copyHeldBeforePurge());
    // The keys of the days that are over go before their partitions: the
    // rows' copies elsewhere (backups, replicas, WAL) are unreadable from then.
    const dayKeysDestroyed = await timed('keys', () => this.dayKeys.destroyEnded());
    const partitions = await timed('drop', () =>
      this.repository.dropEndedPartitions(DDL_LOCK_TIMEOUT_MS),
    );
    // Once the ended days are dropped, nothing stored has usually expired:
    // then the row-wise delete does not run. Its statement spans every
    // partition of four tables, and the drops just made PostgreSQL plan it
    // again, which alone took longer than every other step after the drops.
    const expiry = await timed('oldest', () => this.repository.oldestExpiry());
    const { deleted, oldestExpiryLeft } = await timed('delete', async () => {
      if (!expiry.passed) return { deleted: NOTHING_DELETED, oldestExpiryLeft: expiry.oldest };
      const deleted = await inBatches(batchSize, maxBatches, (size) =>
        this.repository.deleteExpired(size),
      );
      return { deleted, oldestExpiryLeft: (await this.repository.oldestExpiry()).oldest };
    });
    return {
      createdDays,
      droppedPartitions: partitions.length,
      partitions,
      deletedMessages: deleted.messages,
      deletedBytes: deleted.bytes,
      oldestExpiryLeft,
      heldCopies,
      expiredUnread: recorded.expiredUnread,
      recordComplete: recorded.complete,
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
    let deletedRows = 0;
    const { complete } = await throttledBatches(budgetMs, async () => {
      const deleted = await this.repository.deleteExpiredSideRows(batchSize);
      deletedRows += deleted;
      return { more: deleted === batchSize };
    });
    return { deletedRows, complete };
  }
}
