import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiJsonBody,
  ApiProblems,
  ApiUuidParam,
  DEVICE_AUTH_PROBLEMS,
  INPUT_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import { MESSAGE_STATUS, schemaRef } from '../api-docs/openapi-schemas.js';
import { RequestId } from '../common/request-context.js';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { SendMessageDto } from './dto/messages.dto.js';
import { EphemeralSendService } from './ephemeral-send.service.js';
import { MessageStatusService } from './message-status.service.js';
import { SendMessageService } from './send-message.service.js';

@Controller('v1/messages')
@UseGuards(AuthGuard)
@ApiTags('messages')
@ApiDeviceAuth()
export class MessagesController {
  constructor(
    private readonly sends: SendMessageService,
    private readonly ephemeral: EphemeralSendService,
    private readonly statuses: MessageStatusService,
  ) {}

  @ApiOperation({
    operationId: 'sendMessage',
    summary:
      'Send an encrypted message; keys must cover exactly the recipients’ current devices and the sender’s other devices. urgent: rings sleeping devices (ttlSeconds ≤ 120); ephemeral: only to streams open now, never stored (the answer adds liveDevices)',
  })
  @ApiJsonBody(SendMessageDto)
  @ApiAnswer(
    201,
    schemaRef('Accepted'),
    'Accepted (or the first answer to a repeated clientMessageId)',
  )
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    ...INPUT_PROBLEMS,
    404: 'account_not_found, conversation_not_found',
    409: 'devices_missing',
    410: 'devices_stale',
    413: 'body_too_large',
    422: 'no_recipient_devices',
    429: 'rate_limited (per device; urgent sends also per sender account and recipient)',
  })
  @Post()
  @HttpCode(201)
  send(
    @Caller() caller: AuthenticatedDevice,
    @Body() body: SendMessageDto,
    @RequestId() requestId: string,
  ) {
    if (body.ephemeral) return this.ephemeral.send(caller, body);
    return this.sends.send(caller, body, requestId);
  }

  @ApiOperation({
    operationId: 'messageStatus',
    summary: 'Delivery of a message, for its sender’s account',
  })
  @ApiUuidParam('messageId')
  @ApiAnswer(200, MESSAGE_STATUS)
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, 404: 'message_not_found' })
  @Get(':messageId/status')
  status(@Caller() caller: AuthenticatedDevice, @Param('messageId') messageId: string) {
    return this.statuses.status(caller.accountId, parseUuidParam('messageId', messageId));
  }
}
