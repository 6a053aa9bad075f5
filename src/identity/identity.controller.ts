import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiEmptyAnswer,
  ApiJsonBody,
  ApiProblems,
  ApiUuidParam,
  DEVICE_AUTH_PROBLEMS,
  INPUT_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import {
  BEARER_TOKEN,
  CHALLENGE,
  DEVICE_LIST,
  LINK_CODE,
  schemaRef,
} from '../api-docs/openapi-schemas.js';
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
@ApiTags('accounts and devices')
export class IdentityController {
  constructor(
    private readonly identity: IdentityService,
    private readonly auth: AuthService,
    private readonly deletion: AccountDeletionService,
  ) {}

  /** The caller's account leaves: devices, tokens, subscriptions, pending messages, memberships. */
  @ApiOperation({
    operationId: 'deleteAccount',
    summary:
      'Delete the caller’s account: its devices are revoked (streams close with 4403); its tokens, push subscriptions, pending messages and memberships are deleted; its handle is free. Messages it sent stay with their recipients until acked or expired',
  })
  @ApiDeviceAuth()
  @ApiEmptyAnswer('Deleted')
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, 503: 'service_unavailable' })
  @Delete('accounts/self')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  async deleteAccount(@Caller() caller: AuthenticatedDevice) {
    await this.deletion.deleteAccount(caller.accountId);
  }

  @ApiOperation({
    operationId: 'createAccount',
    summary: 'Create an account with its first device',
  })
  @ApiJsonBody(CreateAccountDto)
  @ApiAnswer(201, schemaRef('CreatedDevice'))
  @ApiProblems({
    ...INPUT_PROBLEMS,
    400: 'validation_failed, malformed_json, signature_invalid',
    409: 'handle_taken',
    429: 'rate_limited (Retry-After)',
  })
  @Post('accounts')
  @HttpCode(201)
  @RateLimitPerAddress('account-create', 'RATE_LIMIT_ACCOUNT_CREATE')
  @UseGuards(RateLimitGuard)
  createAccount(@Body() body: CreateAccountDto) {
    return this.identity.createAccount(body.handle, body.device);
  }

  @ApiOperation({ operationId: 'requestChallenge', summary: 'A single-use login challenge' })
  @ApiJsonBody(ChallengeRequestDto)
  @ApiAnswer(200, CHALLENGE)
  @ApiProblems({ ...INPUT_PROBLEMS, 404: 'device_not_found', 429: 'rate_limited' })
  @Post('auth/challenge')
  @HttpCode(200)
  @RateLimitPerAddress('auth', 'RATE_LIMIT_AUTH')
  @UseGuards(RateLimitGuard)
  challenge(@Body() body: ChallengeRequestDto) {
    return this.auth.issueChallenge(body.deviceId);
  }

  @ApiOperation({ operationId: 'issueToken', summary: 'A bearer token for a signed challenge' })
  @ApiJsonBody(TokenRequestDto)
  @ApiAnswer(200, BEARER_TOKEN)
  @ApiProblems({
    ...INPUT_PROBLEMS,
    401: 'signature_invalid, challenge_invalid',
    429: 'rate_limited',
  })
  @Post('auth/token')
  @HttpCode(200)
  @RateLimitPerAddress('auth', 'RATE_LIMIT_AUTH')
  @UseGuards(RateLimitGuard)
  token(@Body() body: TokenRequestDto) {
    return this.auth.issueToken(body.deviceId, body.challenge, body.signature);
  }

  @ApiOperation({
    operationId: 'createLinkCode',
    summary: 'A single-use, short-lived code to link a new device',
  })
  @ApiDeviceAuth()
  @ApiAnswer(201, LINK_CODE)
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, 429: 'rate_limited (per account, Retry-After)' })
  @Post('devices/link-codes')
  @HttpCode(201)
  @RateLimitPerAccount('link-codes', 'RATE_LIMIT_LINK_CODES')
  @UseGuards(AuthGuard, RateLimitGuard)
  linkCode(@Caller() caller: AuthenticatedDevice) {
    return this.identity.createLinkCode(caller.accountId, caller.deviceId);
  }

  @ApiOperation({
    operationId: 'linkDevice',
    summary: 'Add a device to an account with a link code',
  })
  @ApiJsonBody(LinkDeviceDto)
  @ApiAnswer(201, schemaRef('CreatedDevice'))
  @ApiProblems({
    ...INPUT_PROBLEMS,
    400: 'validation_failed, link_code_invalid, signature_invalid',
    409: 'too_many_devices',
    429: 'rate_limited',
  })
  @Post('devices')
  @HttpCode(201)
  @RateLimitPerAddress('auth', 'RATE_LIMIT_AUTH')
  @UseGuards(RateLimitGuard)
  linkDevice(@Body() body: LinkDeviceDto) {
    return this.identity.linkDevice(body.code, body.device);
  }

  @ApiOperation({ operationId: 'listDevices', summary: "The caller's account's current devices" })
  @ApiDeviceAuth()
  @ApiAnswer(200, DEVICE_LIST)
  @ApiProblems(DEVICE_AUTH_PROBLEMS)
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

  @ApiOperation({
    operationId: 'revokeDevice',
    summary: 'Revoke a device of the caller’s account: its tokens, socket and pending messages end',
  })
  @ApiDeviceAuth()
  @ApiUuidParam('deviceId')
  @ApiEmptyAnswer('Revoked')
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, 404: 'device_not_found' })
  @Delete('devices/:deviceId')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  async revokeDevice(@Caller() caller: AuthenticatedDevice, @Param('deviceId') deviceId: string) {
    await this.identity.revokeDevice(caller.accountId, parseUuidParam('deviceId', deviceId));
  }
}
