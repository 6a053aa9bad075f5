import { Injectable } from '@nestjs/common';
import type { Executor } from '../db/db.module.js';

export interface RevokedDevice {
  deviceId: string;
  accountId: string;
  /** Revoked by the account, unlinked for being idle, or its account deleted. */
  reason: 'device_revoked' | 'device_idle' | 'account_deleted';
}

/** An account being deleted, with every device it ever had (revoked ones too). */
export interface DeletedAccount {
  accountId: string;
  deviceIds: string[];
}

type InTransaction = (device: RevokedDevice, tx: Executor) => Promise<void>;
type AfterCommit = (device: RevokedDevice) => Promise<void> | void;
type AccountInTransaction = (account: DeletedAccount, tx: Executor) => Promise<void>;
type AccountAfterCommit = (account: DeletedAccount) => Promise<void>;

/**
 * Lets other modules react to a device's revocation, and to an account's
 * deletion, without identity knowing them: `inTransaction` hooks run inside
 * the revoking (deleting) transaction (e.g. drop pending deliveries),
 * `afterCommit` hooks after it (e.g. close the socket, forget Redis keys).
 * Deleting an account revokes each of its devices first (both kinds of
 * hooks run for each), then runs the account hooks.
 */
@Injectable()
export class DeviceLifecycle {
  private readonly inTransactionHooks: InTransaction[] = [];
  private readonly afterCommitHooks: AfterCommit[] = [];
  private readonly accountInTransactionHooks: AccountInTransaction[] = [];
  private readonly accountAfterCommitHooks: AccountAfterCommit[] = [];

  onRevokedInTransaction(hook: InTransaction): void {
    this.inTransactionHooks.push(hook);
  }

  onRevokedAfterCommit(hook: AfterCommit): void {
    this.afterCommitHooks.push(hook);
  }

  onAccountDeletedInTransaction(hook: AccountInTransaction): void {
    this.accountInTransactionHooks.push(hook);
  }

  onAccountDeletedAfterCommit(hook: AccountAfterCommit): void {
    this.accountAfterCommitHooks.push(hook);
  }

  async runAccountDeletedInTransaction(account: DeletedAccount, tx: Executor): Promise<void> {
    for (const hook of this.accountInTransactionHooks) await hook(account, tx);
  }

  /** Every hook runs, whichever fails; the first failure is thrown after. */
  async runAccountDeletedAfterCommit(account: DeletedAccount): Promise<void> {
    const results = await Promise.allSettled(
      this.accountAfterCommitHooks.map(async (hook) => hook(account)),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async runInTransaction(device: RevokedDevice, tx: Executor): Promise<void> {
    for (const hook of this.inTransactionHooks) await hook(device, tx);
  }

  async runAfterCommit(device: RevokedDevice): Promise<void> {
    await Promise.all(this.afterCommitHooks.map(async (hook) => hook(device)));
  }
}
