import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  RateLimitGuard,
  RateLimitPerAccount,
  RateLimitPerAddress,
} from '../rate-limit/rate-limit.guard.js';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard, Caller } from './auth.guard.js';
import { AccountDeletionService } from './account-deletion.service.js';
import { type AuthenticatedDevice, AuthService } from './auth.service.js';
import {
  ChallengeRequestDto,
  CreateAccountDto,
  LinkDeviceDto,
  TokenRequestDto,
} from './dto/identity.dto.js';
import { IdentityService } from './identity.service.js';

// Guards run in order: RateLimitGuard comes after AuthGuard wherever it counts per account.
@Controller('v1')
export class IdentityController {
  constructor(
    private readonly identity: IdentityService,
    private readonly auth: AuthService,
    private readonly deletion: AccountDeletionService,
  ) {}

  /** The caller's account leaves: devices, tokens, subscriptions, pending messages, memberships. */
  @Delete('accounts/self')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  async deleteAccount(@Caller() caller: AuthenticatedDevice) {
    await this.deletion.deleteAccount(caller.accountId);
  }

  @Post('accounts')
  @HttpCode(201)
  @RateLimitPerAddress('account-create', 'RATE_LIMIT_ACCOUNT_CREATE')
  @UseGuards(RateLimitGuard)
  createAccount(@Body() body: CreateAccountDto) {
    return this.identity.createAccount(body.handle, body.device);
  }

  @Post('auth/challenge')
  @HttpCode(200)
  @RateLimitPerAddress('auth', 'RATE_LIMIT_AUTH')
  @UseGuards(RateLimitGuard)
  challenge(@Body() body: ChallengeRequestDto) {
    return this.auth.issueChallenge(body.deviceId);
  }

  @Post('auth/token')
  @HttpCode(200)
  @RateLimitPerAddress('auth', 'RATE_LIMIT_AUTH')
  @UseGuards(RateLimitGuard)
  token(@Body() body: TokenRequestDto) {
    return this.auth.issueToken(body.deviceId, body.challenge, body.signature);
  }

  @Post('devices/link-codes')
  @HttpCode(201)
  @RateLimitPerAccount('link-codes', 'RATE_LIMIT_LINK_CODES')
  @UseGuards(AuthGuard, RateLimitGuard)
  linkCode(@Caller() caller: AuthenticatedDevice) {
    return this.identity.createLinkCode(caller.accountId, caller.deviceId);
  }

  @Post('devices')
  @HttpCode(201)
  @RateLimitPerAddress('auth', 'RATE_LIMIT_AUTH')
  @UseGuards(RateLimitGuard)
  linkDevice(@Body() body: LinkDeviceDto) {
    return this.identity.linkDevice(body.code, body.device);
  }

  @Get('devices')
  @UseGuards(AuthGuard)
  async listDevices(@Caller() caller: AuthenticatedDevice) {
    const devices = await this.identity.listDevices(caller.accountId);
    return {
      devices: devices.map((device) => ({
        deviceId: device.id,
        name: device.name,
        createdAt: device.createdAt,
        lastSeenAt: device.lastSeenAt,
      })),
    };
  }

  @Delete('devices/:deviceId')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  async revokeDevice(@Caller() caller: AuthenticatedDevice, @Param('deviceId') deviceId: string) {
    await this.identity.revokeDevice(caller.accountId, parseUuidParam('deviceId', deviceId));
  }
}
