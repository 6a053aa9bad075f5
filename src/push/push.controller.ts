import { Body, Controller, Delete, Get, HttpCode, Put, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiEmptyAnswer,
  ApiJsonBody,
  ApiProblems,
  DEVICE_AUTH_PROBLEMS,
  INPUT_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import { VAPID_PUBLIC_KEY } from '../api-docs/openapi-schemas.js';
import { RateLimitGuard, RateLimitPerAccount } from '../rate-limit/rate-limit.guard.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { PushSubscriptionDto } from './dto/push.dto.js';
import { PushSubscriptionService } from './push-subscription.service.js';
import { VapidKeys } from './vapid-keys.service.js';

@Controller('v1')
@ApiTags('push')
export class PushController {
  constructor(
    private readonly vapid: VapidKeys,
    private readonly subscriptions: PushSubscriptionService,
  ) {}

  /** The key browsers take as applicationServerKey when they subscribe. */
  @ApiOperation({
    operationId: 'vapidPublicKey',
    summary:
      'The server’s VAPID (RFC 8292) P-256 public key, uncompressed, base64url: a browser’s applicationServerKey',
  })
  @ApiAnswer(200, VAPID_PUBLIC_KEY)
  @ApiProblems({ 503: 'service_unavailable' })
  @Get('push/vapid')
  async vapidKey() {
    return { publicKey: (await this.vapid.get()).publicKey };
  }

  @ApiOperation({
    operationId: 'storePushSubscription',
    summary:
      'Store this device’s Web Push subscription (PushSubscription.toJSON(), base64url keys), replacing any earlier one',
  })
  @ApiDeviceAuth()
  @ApiJsonBody(PushSubscriptionDto)
  @ApiEmptyAnswer('Stored')
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    ...INPUT_PROBLEMS,
    400: 'push_endpoint_refused: not https, or resolves to a loopback, private or link-local address not in PUSH_ALLOWED_HOSTS',
    429: 'rate_limited (per account, Retry-After)',
  })
  @Put('devices/self/push')
  @HttpCode(204)
  @UseGuards(AuthGuard, RateLimitGuard)
  @RateLimitPerAccount('push-subscriptions', 'RATE_LIMIT_PUSH_SUBSCRIPTIONS')
  async subscribe(@Caller() caller: AuthenticatedDevice, @Body() body: PushSubscriptionDto) {
    await this.subscriptions.subscribe(caller.deviceId, body);
  }

  @ApiOperation({
    operationId: 'removePushSubscription',
    summary: 'Remove this device’s Web Push subscription (no more wake-up pushes)',
  })
  @ApiDeviceAuth()
  @ApiEmptyAnswer('Removed')
  @ApiProblems(DEVICE_AUTH_PROBLEMS)
  @Delete('devices/self/push')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  async unsubscribe(@Caller() caller: AuthenticatedDevice) {
    await this.subscriptions.unsubscribe(caller.deviceId);
  }
}
