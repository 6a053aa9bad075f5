import { Body, Controller, Get, HttpCode, Inject, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiJsonBody,
  ApiProblems,
  ApiQueryOf,
  DEVICE_AUTH_PROBLEMS,
  INPUT_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import { ACKED, INBOX_PAGE } from '../api-docs/openapi-schemas.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { ENV, type Env } from '../config/env.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { AckDto, InboxQueryDto } from '../messages/dto/messages.dto.js';
import { inboxMessageView } from '../messages/inbox-message.view.js';
import { InboxService } from '../messages/inbox.service.js';
import { countAck } from './ack-rate-limit.js';

/** Pull and ack over HTTP, for the calling device only. */
@Controller('v1/inbox')
@UseGuards(AuthGuard)
@ApiTags('messages')
@ApiDeviceAuth()
export class InboxController {
  constructor(
    private readonly inbox: InboxService,
    private readonly rateLimiter: RateLimiter,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /** At most `limit` messages and PAGE_MAX_BYTES of ciphertext; `more` when others wait. */
  @ApiOperation({
    operationId: 'readInbox',
    summary:
      'The oldest pending messages of the calling device, in acceptance order: at most limit and PAGE_MAX_BYTES of ciphertext; more when others wait',
  })
  @ApiQueryOf(InboxQueryDto)
  @ApiAnswer(200, INBOX_PAGE)
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, ...INPUT_PROBLEMS })
  @Get()
  async pending(@Caller() caller: AuthenticatedDevice, @Query() query: InboxQueryDto) {
    const page = await this.inbox.firstPage(caller.deviceId, query.limit);
    return { messages: page.messages.map(inboxMessageView), more: page.more };
  }

  @ApiOperation({
    operationId: 'ackMessages',
    summary: 'Ack messages for the calling device (ids not pending for it change nothing)',
  })
  @ApiJsonBody(AckDto)
  @ApiAnswer(200, ACKED)
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    429: 'rate_limited (Retry-After)',
    ...INPUT_PROBLEMS,
  })
  @Post('ack')
  @HttpCode(200)
  async ack(@Caller() caller: AuthenticatedDevice, @Body() body: AckDto) {
    await countAck(this.rateLimiter, this.env, caller.accountId);
    return { acked: await this.inbox.ack(caller.deviceId, body.messageIds) };
  }
}
