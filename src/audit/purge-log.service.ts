import { Injectable } from '@nestjs/common';
import type { PurgeResult } from '../retention/retention.types.js';
import { ChainedLog } from './chained-log.js';

/**
 * What each purge run removed, appended to the hash-chained purge_log:
 * the partitions dropped (names and sizes), the messages and ciphertext
 * bytes removed, the days whose at-rest keys were destroyed, and the
 * earliest expiry left.
 */
@Injectable()
export class PurgeLog {
  constructor(private readonly log: ChainedLog) {}

  async record(run: PurgeResult): Promise<void> {
    const messages =
      run.deletedMessages +
      run.partitions.reduce((total, partition) => total + (partition.messages ?? 0), 0);
    await this.log.append('purge_log', {
      actor: 'system',
      action: 'purge',
      subject: null,
      details: {
        partitions: run.partitions.map(({ name, bytes }) => ({ name, bytes })),
        messages,
        bytes:
          run.deletedBytes +
          run.partitions.reduce((total, partition) => total + partition.bytes, 0),
        oldestExpiryLeft: run.oldestExpiryLeft?.toISOString() ?? null,
        heldCopies: run.heldCopies,
        dayKeysDestroyed: run.dayKeysDestroyed,
      },
    });
  }

  read(afterSeq: number, limit: number) {
    return this.log.read('purge_log', afterSeq, limit);
  }
}
