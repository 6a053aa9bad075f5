import { Injectable, Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import { Problem } from '../common/problem.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { DeviceLifecycle } from './device-lifecycle.js';
import { IdentityRepository } from './identity.repository.js';

/**
 * DELETE /v1/accounts/self: the account leaves. In one transaction each of
 * its devices is revoked (the other modules drop its pending deliveries and
 * push subscription), the other modules drop what the account holds
 * (memberships), and the account row goes with its devices, tokens and link
 * codes; its handle is free at the commit. After the commit its streams close
 * with 4403 and its Redis keys are deleted. What it sent stays with the
 * recipients until acked or expired (docs/retention.md).
 */
@Injectable()
export class AccountDeletionService {
  private readonly logger = new Logger(AccountDeletionService.name);

  constructor(
    private readonly repository: IdentityRepository,
    private readonly lifecycle: DeviceLifecycle,
    private readonly rateLimiter: RateLimiter,
  ) {}

  async deleteAccount(accountId: string): Promise<void> {
    const devices = await this.repository.transaction(async (tx) => {
      const found = await this.repository.lockAccountDevices(tx, accountId);
      if (!found) throw Problem.notFound('account_not_found', 'No such account');
      for (const deviceId of [...found.current, ...found.revoked])
        await this.lifecycle.runInTransaction(
          { accountId, deviceId, reason: 'account_deleted' },
          tx,
        );
      await this.lifecycle.runAccountDeletedInTransaction(
        { accountId, deviceIds: [...found.current, ...found.revoked] },
        tx,
      );
      await this.repository.deleteAccount(tx, accountId);
      return found;
    });
    // Committed: the account is gone whatever follows. Sockets that miss the
    // notice close at their next heartbeat (their device is gone). A Redis
    // key that could not be deleted now (Redis down) is logged; all but the
    // notice counters expire by themselves.
    const afterCommit = await Promise.allSettled([
      ...devices.current.map((deviceId) =>
        this.lifecycle.runAfterCommit({ accountId, deviceId, reason: 'account_deleted' }),
      ),
      this.lifecycle.runAccountDeletedAfterCommit({
        accountId,
        deviceIds: [...devices.current, ...devices.revoked],
      }),
      this.rateLimiter.forget([accountId, ...devices.current, ...devices.revoked]),
    ]);
    for (const result of afterCommit) {
      if (result.status === 'rejected')
        this.logger.warn(
          { accountId, error: describeError(result.reason) },
          'account deleted; clean-up after the commit failed',
        );
    }
  }
}
