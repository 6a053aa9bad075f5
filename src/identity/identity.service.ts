import { Inject, Injectable, Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import {
  BOX_KEY_CONTEXT,
  concatBytes,
  hashSecret,
  randomBytes,
  verifyDetached,
} from '../common/crypto.js';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { DeviceLifecycle } from './device-lifecycle.js';
import type { DeviceKeys } from './dto/identity.dto.js';
import { type CurrentDeviceId, DeviceRecord, IdentityRepository } from './identity.repository.js';

export interface CreatedDevice {
  accountId: string;
  deviceId: string;
}

/** Accounts, devices and link codes. */
@Injectable()
export class IdentityService {
  private readonly logger = new Logger(IdentityService.name);

  constructor(
    private readonly repository: IdentityRepository,
    private readonly lifecycle: DeviceLifecycle,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async createAccount(handle: string, device: DeviceKeys): Promise<CreatedDevice> {
    assertBoxKeySigned(device);
    return this.repository.transaction(async (tx) => {
      const accountId = await this.repository.insertAccount(tx, handle);
      if (!accountId) throw Problem.conflict('handle_taken', 'That handle is already taken');
      const deviceId = await this.repository.insertDevice(tx, accountId, device);
      return { accountId, deviceId };
    });
  }

  async createLinkCode(
    accountId: string,
    deviceId: string,
  ): Promise<{ code: string; expiresAt: Date }> {
    const secret = randomBytes(16);
    const code = secret.toString('base64url');
    const expiresAt = new Date(Date.now() + this.env.LINK_CODE_TTL_SECONDS * 1000);
    await this.repository.insertLinkCode(
      accountId,
      deviceId,
      hashSecret(Buffer.from(code)),
      expiresAt,
    );
    return { code, expiresAt };
  }

  async linkDevice(code: string, device: DeviceKeys): Promise<CreatedDevice> {
    assertBoxKeySigned(device);
    return this.repository.transaction(async (tx) => {
      const accountId = await this.repository.consumeLinkCode(tx, hashSecret(Buffer.from(code)));
      if (!accountId)
        throw Problem.badRequest('link_code_invalid', 'The link code is unknown, used or expired');
      await this.repository.lockAccount(tx, accountId);
      const current = await this.repository.countCurrentDevices(tx, accountId);
      if (current >= this.env.MAX_DEVICES_PER_ACCOUNT) {
        // Throwing rolls back, so the code stays usable once a device is removed.
        throw Problem.conflict(
          'too_many_devices',
          `An account has at most ${this.env.MAX_DEVICES_PER_ACCOUNT} devices; revoke one first`,
        );
      }
      const deviceId = await this.repository.insertDevice(tx, accountId, device);
      return { accountId, deviceId };
    });
  }

  listDevices(accountId: string): Promise<DeviceRecord[]> {
    return this.repository.listCurrentDevices([accountId]);
  }

  /** Current devices of several accounts, keys included (the directory, and a send's 409). */
  currentDevicesOf(accountIds: string[]): Promise<DeviceRecord[]> {
    return this.repository.listCurrentDevices(accountIds);
  }

  /** Ids of the current devices of several accounts (the coverage check and receipts). */
  currentDeviceIdsOf(accountIds: string[]): Promise<CurrentDeviceId[]> {
    return this.repository.listCurrentDeviceIds(accountIds);
  }

  findCurrentDevice(deviceId: string): Promise<DeviceRecord | null> {
    return this.repository.findCurrentDevice(deviceId);
  }

  findAccountByHandle(handle: string) {
    return this.repository.findAccountByHandle(handle);
  }

  findAccount(accountId: string) {
    return this.repository.findAccount(accountId);
  }

  existingAccountIds(accountIds: string[]): Promise<string[]> {
    return this.repository.existingAccountIds(accountIds);
  }

  deleteExpiredSecrets(): Promise<number> {
    return this.repository.deleteExpiredSecrets();
  }

  /**
   * Revokes one of the account's devices: its tokens fail from now on. By the
   * account (`device_revoked`), or by the idle-device rule (`device_idle`).
   */
  async revokeDevice(
    accountId: string,
    deviceId: string,
    reason: 'device_revoked' | 'device_idle' = 'device_revoked',
  ): Promise<void> {
    await this.repository.transaction(async (tx) => {
      const revoked = await this.repository.revokeDevice(tx, accountId, deviceId);
      if (!revoked) throw Problem.notFound('device_not_found', 'No such device on this account');
      await this.lifecycle.runInTransaction({ accountId, deviceId, reason }, tx);
    });
    // Committed: the revocation holds whatever follows. A notice that cannot
    // go out (Redis down) is caught up by every stream's heartbeat, which
    // checks its device again.
    await this.lifecycle
      .runAfterCommit({ accountId, deviceId, reason })
      .catch((error: unknown) =>
        this.logger.warn({ deviceId, error: describeError(error) }, 'revocation notice not sent'),
      );
  }
}

function assertBoxKeySigned(device: DeviceKeys): void {
  const signed = concatBytes(BOX_KEY_CONTEXT, device.boxKey);
  if (!verifyDetached(device.boxKeySignature, signed, device.signingKey)) {
    throw Problem.badRequest(
      'signature_invalid',
      'boxKeySignature does not verify with signingKey',
      {
        errors: [{ field: 'device.boxKeySignature', message: 'does not verify' }],
      },
    );
  }
}
