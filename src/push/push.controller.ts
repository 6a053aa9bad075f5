import { Body, Controller, Delete, Get, HttpCode, Put, UseGuards } from '@nestjs/common';
import { RateLimitGuard, RateLimitPerAccount } from '../rate-limit/rate-limit.guard.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { PushSubscriptionDto } from './dto/push.dto.js';
import { PushSubscriptionService } from './push-subscription.service.js';
import { VapidKeys } from './vapid-keys.service.js';

@Controller('v1')
export class PushController {
  constructor(
    private readonly vapid: VapidKeys,
    private readonly subscriptions: PushSubscriptionService,
  ) {}

  /** The key browsers take as applicationServerKey when they subscribe. */
  @Get('push/vapid')
  async vapidKey() {
    return { publicKey: (await this.vapid.get()).publicKey };
  }

  @Put('devices/self/push')
  @HttpCode(204)
  @UseGuards(AuthGuard, RateLimitGuard)
  @RateLimitPerAccount('push-subscriptions', 'RATE_LIMIT_PUSH_SUBSCRIPTIONS')
  async subscribe(@Caller() caller: AuthenticatedDevice, @Body() body: PushSubscriptionDto) {
    await this.subscriptions.subscribe(caller.deviceId, body);
  }

  @Delete('devices/self/push')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  async unsubscribe(@Caller() caller: AuthenticatedDevice) {
    await this.subscriptions.unsubscribe(caller.deviceId);
  }
}
