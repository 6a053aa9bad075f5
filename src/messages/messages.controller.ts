import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { RequestId } from '../common/request-context.js';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { SendMessageDto } from './dto/messages.dto.js';
import { EphemeralSendService } from './ephemeral-send.service.js';
import { MessagesService } from './messages.service.js';

@Controller('v1/messages')
@UseGuards(AuthGuard)
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly ephemeral: EphemeralSendService,
  ) {}

  @Post()
  @HttpCode(201)
  send(
    @Caller() caller: AuthenticatedDevice,
    @Body() body: SendMessageDto,
    @RequestId() requestId: string,
  ) {
    if (body.ephemeral) return this.ephemeral.send(caller, body);
    return this.messages.send(caller, body, requestId);
  }

  @Get(':messageId/status')
  status(@Caller() caller: AuthenticatedDevice, @Param('messageId') messageId: string) {
    return this.messages.status(caller.accountId, parseUuidParam('messageId', messageId));
  }
}
