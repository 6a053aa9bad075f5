import { Inject, Injectable } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { ENV, type Env } from '../config/env.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { publicDeviceView } from '../identity/device-view.js';
import type { CurrentDeviceId } from '../identity/identity.repository.js';
import { IdentityService } from '../identity/identity.service.js';
import { checkCoverage, expectedDevices } from './device-coverage.js';
import type { SendMessageDto } from './dto/messages.dto.js';

/** A send's keys against the devices it must reach: the devices, or the answer that refuses it. */
export type CoverageOutcome =
  { kind: 'covered'; deviceIds: string[] } | { kind: 'refused'; problem: Problem };

/**
 * The device-coverage rule of every send, stored or ephemeral (docs/protocol.md,
 * "Sending"): the keys must name exactly the recipients' current devices and
 * the sender's other devices. A refusal is returned, not thrown, so that a
 * stored send can first look for an earlier answer to the same clientMessageId.
 */
@Injectable()
export class SendCoverage {
  constructor(
    private readonly identity: IdentityService,
    private readonly conversations: ConversationsService,
    private readonly rateLimiter: RateLimiter,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /**
   * Counts the send against the device's rate and checks its coverage.
   * Counting (Redis) and reading the devices (PostgreSQL) do not depend on
   * each other: one round trip of waiting instead of two. A refused count
   * still wins over whatever the look-up found.
   */
  async countAndCheck(
    sender: AuthenticatedDevice,
    request: Pick<SendMessageDto, 'to' | 'keys'>,
  ): Promise<CoverageOutcome> {
    const [counted, checked] = await Promise.allSettled([
      this.rateLimiter.hit(
        'send',
        sender.deviceId,
        this.env.RATE_LIMIT_SEND_PER_DEVICE,
        this.env.RATE_LIMIT_WINDOW_SECONDS,
      ),
      this.check(sender, request),
    ]);
    if (counted.status === 'rejected') throw counted.reason;
    if (checked.status === 'rejected') throw checked.reason;
    return checked.value;
  }

  async check(
    sender: AuthenticatedDevice,
    request: Pick<SendMessageDto, 'to' | 'keys'>,
  ): Promise<CoverageOutcome> {
    const current = await this.currentDevicesFor(sender, request.to);
    const expected = expectedDevices(
      current.map((device) => ({ deviceId: device.id, accountId: device.accountId })),
      sender.deviceId,
    );
    const coverage = checkCoverage(
      expected,
      request.keys.map((key) => key.deviceId),
    );
    if (coverage.kind === 'covered') {
      if (coverage.devices.length === 0) {
        return {
          kind: 'refused',
          problem: new Problem(
            422,
            'no_recipient_devices',
            'Unprocessable',
            'The recipients have no device to deliver to',
          ),
        };
      }
      return { kind: 'covered', deviceIds: request.keys.map((key) => key.deviceId) };
    }
    const missingDevices = await this.publicViewsOf(coverage.missing);
    if (coverage.kind === 'stale') {
      return {
        kind: 'refused',
        problem: new Problem(
          410,
          'devices_stale',
          'Gone',
          'Some keys are for devices that are not current recipients',
          { staleDevices: coverage.staleDeviceIds, missingDevices },
        ),
      };
    }
    return {
      kind: 'refused',
      problem: Problem.conflict(
        'devices_missing',
        'Some current devices of the recipients have no key',
        { missingDevices },
      ),
    };
  }

  /** The current devices (ids) of the recipients and of the sender's own account. */
  private async currentDevicesFor(
    sender: AuthenticatedDevice,
    to: SendMessageDto['to'],
  ): Promise<CurrentDeviceId[]> {
    const recipients =
      'conversationId' in to
        ? await this.conversations.membersForSender(sender.accountId, to.conversationId)
        : [to.accountId];
    const current = await this.identity.currentDeviceIdsOf([
      ...new Set([...recipients, sender.accountId]),
    ]);
    if ('accountId' in to) await this.assertAccountExists(to.accountId, current);
    return current;
  }

  // The keys of the devices a send missed, read only then (the sender needs
  // them to wrap for those devices). A device revoked meanwhile is left out:
  // it is no longer one to cover.
  private async publicViewsOf(missing: { deviceId: string; accountId: string }[]) {
    const accountIds = [...new Set(missing.map((entry) => entry.accountId))];
    const records = new Map(
      (await this.identity.currentDevicesOf(accountIds)).map((device) => [device.id, device]),
    );
    return missing.flatMap((entry) => {
      const device = records.get(entry.deviceId);
      return device ? [{ accountId: entry.accountId, ...publicDeviceView(device) }] : [];
    });
  }

  // Only asked of the database when the account shows no device (the rare case).
  private async assertAccountExists(
    accountId: string,
    current: { accountId: string }[],
  ): Promise<void> {
    if (current.some((device) => device.accountId === accountId)) return;
    if ((await this.identity.existingAccountIds([accountId])).length === 0) {
      throw Problem.notFound('account_not_found', 'No such account');
    }
  }
}
