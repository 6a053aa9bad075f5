import { Injectable } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { publicDeviceView } from '../identity/device-view.js';
import { IdentityService } from '../identity/identity.service.js';

/** Who is who: an account's current devices and their public keys. */
@Injectable()
export class DirectoryService {
  constructor(private readonly identity: IdentityService) {}

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

  private async devicesOf(accountId: string) {
    const devices = await this.identity.currentDevicesOf([accountId]);
    return devices.map(publicDeviceView);
  }
}
