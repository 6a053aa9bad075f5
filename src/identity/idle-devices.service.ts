import { Inject, Injectable, Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import { ENV, type Env } from '../config/env.js';
import { AccountDeletionService } from './account-deletion.service.js';
import { IdentityRepository } from './identity.repository.js';
import { IdentityService } from './identity.service.js';

// Devices unlinked per run: a backlog (the first run after an upgrade) goes over several runs.
const MAX_DEVICES_PER_RUN = 1000;

export interface IdleUnlinkRun {
  devices: number;
  accounts: number;
}

/**
 * The idle-device rule (docs/retention.md): a device not seen for
 * IDLE_DEVICE_DAYS is unlinked like a revoked one (its pending messages
 * dropped, the senders' status saying `device_idle`), and an account left
 * with no device is deleted, since no one can use it any more.
 */
@Injectable()
export class IdleDevicesService {
  private readonly logger = new Logger(IdleDevicesService.name);

  constructor(
    private readonly repository: IdentityRepository,
    private readonly identity: IdentityService,
    private readonly deletion: AccountDeletionService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async unlinkIdle(): Promise<IdleUnlinkRun> {
    const idle = await this.repository.idleDevices(this.env.IDLE_DEVICE_DAYS, MAX_DEVICES_PER_RUN);
    const accounts = new Set<string>();
    let devices = 0;
    for (const device of idle) {
      try {
        await this.identity.revokeDevice(device.accountId, device.id, 'device_idle');
        devices++;
        accounts.add(device.accountId);
      } catch (error) {
        // Revoked meanwhile by its account, or its account deleted: nothing left to do.
        this.logger.warn(
          { deviceId: device.id, error: describeError(error) },
          'idle device not unlinked',
        );
      }
    }
    let deleted = 0;
    for (const accountId of accounts) {
      const left = await this.repository.countCurrentDevices(this.repository.db, accountId);
      if (left > 0) continue;
      await this.deletion.deleteAccount(accountId);
      deleted++;
    }
    if (devices > 0)
      this.logger.log(
        { unlinkedDevices: devices, deletedAccounts: deleted },
        'idle devices unlinked, and the accounts left without one deleted',
      );
    return { devices, accounts: deleted };
  }
}
