import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RateLimiter } from '../common/rate-limiter.js';
import { parseUuidParam } from '../common/validation.js';
import { ENV, type Env } from '../config/env.js';
import { AuthGuard, Caller } from './auth.guard.js';
import { type AuthenticatedDevice, AuthService } from './auth.service.js';
import {
  ChallengeRequestDto,
  CreateAccountDto,
  LinkDeviceDto,
  TokenRequestDto,
} from './dto/identity.dto.js';
import { IdentityService } from './identity.service.js';

@Controller('v1')
export class IdentityController {
  constructor(
    private readonly identity: IdentityService,
    private readonly auth: AuthService,
    private readonly rateLimiter: RateLimiter,
    @Inject(ENV) private readonly env: Env,
  ) {}

  @Post('accounts')
  @HttpCode(201)
  async createAccount(@Body() body: CreateAccountDto, @Req() request: FastifyRequest) {
    await this.limit('account-create', request, this.env.RATE_LIMIT_ACCOUNT_CREATE);
    return this.identity.createAccount(body.handle, body.device);
  }

  @Post('auth/challenge')
  @HttpCode(200)
  async challenge(@Body() body: ChallengeRequestDto, @Req() request: FastifyRequest) {
    await this.limit('auth', request, this.env.RATE_LIMIT_AUTH);
    return this.auth.issueChallenge(body.deviceId);
  }

  @Post('auth/token')
  @HttpCode(200)
  async token(@Body() body: TokenRequestDto, @Req() request: FastifyRequest) {
    await this.limit('auth', request, this.env.RATE_LIMIT_AUTH);
    return this.auth.issueToken(body.deviceId, body.challenge, body.signature);
  }

  @Post('devices/link-codes')
  @HttpCode(201)
  @UseGuards(AuthGuard)
  linkCode(@Caller() caller: AuthenticatedDevice) {
    return this.identity.createLinkCode(caller.accountId, caller.deviceId);
  }

  @Post('devices')
  @HttpCode(201)
  async linkDevice(@Body() body: LinkDeviceDto, @Req() request: FastifyRequest) {
    await this.limit('auth', request, this.env.RATE_LIMIT_AUTH);
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

  private limit(scope: string, request: FastifyRequest, limit: number): Promise<void> {
    return this.rateLimiter.hit(scope, request.ip, limit, this.env.RATE_LIMIT_WINDOW_SECONDS);
  }
}
