import { Injectable } from '@nestjs/common';
import type { Executor } from '../db/db.module.js';

export interface RevokedDevice {
  deviceId: string;
  accountId: string;
}

type InTransaction = (device: RevokedDevice, tx: Executor) => Promise<void>;
type AfterCommit = (device: RevokedDevice) => Promise<void> | void;

/**
 * Lets other modules react to a device's revocation without identity knowing
 * them: `inTransaction` hooks run inside the revoking transaction (e.g. drop
 * pending deliveries), `afterCommit` hooks after it (e.g. close the socket).
 */
@Injectable()
export class DeviceLifecycle {
  private readonly inTransactionHooks: InTransaction[] = [];
  private readonly afterCommitHooks: AfterCommit[] = [];

  onRevokedInTransaction(hook: InTransaction): void {
    this.inTransactionHooks.push(hook);
  }

  onRevokedAfterCommit(hook: AfterCommit): void {
    this.afterCommitHooks.push(hook);
  }

  async runInTransaction(device: RevokedDevice, tx: Executor): Promise<void> {
    for (const hook of this.inTransactionHooks) await hook(device, tx);
  }

  async runAfterCommit(device: RevokedDevice): Promise<void> {
    await Promise.all(this.afterCommitHooks.map(async (hook) => hook(device)));
  }
}
