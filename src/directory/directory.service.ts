import { Injectable } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import { publicDeviceView } from '../identity/device-view.js';
import { IdentityService } from '../identity/identity.service.js';
import { PresenceService } from './presence.service.js';

/** Who is who: an account's current devices and their public keys. */
@Injectable()
export class DirectoryService {
  constructor(
    private readonly identity: IdentityService,
    private readonly presence: PresenceService,
    private readonly conversations: ConversationsService,
  ) {}

  async lookupHandle(callerAccountId: string, handle: string) {
    const account = await this.identity.findAccountByHandle(handle);
    if (!account) throw Problem.notFound('account_not_found', 'No account with that handle');
    return {
      accountId: account.id,
      handle: account.handle,
      devices: await this.devicesOf(callerAccountId, account.id),
    };
  }

  async lookupAccount(callerAccountId: string, accountId: string) {
    const account = await this.identity.findAccount(accountId);
    if (!account) throw Problem.notFound('account_not_found', 'No such account');
    return {
      accountId: account.id,
      handle: account.handle,
      devices: await this.devicesOf(callerAccountId, account.id),
    };
  }

  /**
   * Current devices with their keys, and `online`: whether a live connection
   * holds each now. Only the account itself and accounts it shares a
   * conversation with see that; to anyone else it is null (unknown), so a
   * stranger cannot watch when someone is active.
   */
  private async devicesOf(callerAccountId: string, accountId: string) {
    const devices = await this.identity.currentDevicesOf([accountId]);
    const mayKnow =
      callerAccountId === accountId ||
      (await this.conversations.shareAConversation(callerAccountId, accountId));
    // Presence lives in Redis; without it the keys are still served, reachability as unknown (null).
    const online = mayKnow
      ? await this.presence.locate(devices.map((device) => device.id)).catch(() => null)
      : null;
    return devices.map((device) => ({
      ...publicDeviceView(device),
      online: online ? online.has(device.id) : null,
    }));
  }
}
