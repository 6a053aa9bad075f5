import { Injectable } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { publicDeviceView } from '../identity/device-view.js';
import { IdentityService } from '../identity/identity.service.js';
import { PresenceService } from './presence.service.js';

/** Who is who: an account's current devices and their public keys. */
@Injectable()
export class DirectoryService {
  constructor(
    private readonly identity: IdentityService,
    private readonly presence: PresenceService,
  ) {}

  async lookupHandle(handle: string) {
    const account = await this.identity.findAccountByHandle(handle);
    if (!account) throw Problem.notFound('account_not_found', 'No account with that handle');
    return {
      accountId: account.id,
      handle: account.handle,
      devices: await this.devicesOf(account.id),
    };
  }

  async lookupAccount(accountId: string) {
    const account = await this.identity.findAccount(accountId);
    if (!account) throw Problem.notFound('account_not_found', 'No such account');
    return {
      accountId: account.id,
      handle: account.handle,
      devices: await this.devicesOf(account.id),
    };
  }

  /** Current devices with their keys, and `online`: whether a live connection holds each now. */
  private async devicesOf(accountId: string) {
    const devices = await this.identity.currentDevicesOf([accountId]);
    // Presence lives in Redis; without it the keys are still served, reachability as unknown (null).
    const online = await this.presence.locate(devices.map((device) => device.id)).catch(() => null);
    return devices.map((device) => ({
      ...publicDeviceView(device),
      online: online ? online.has(device.id) : null,
    }));
  }
}
