import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { ConversationsService } from './conversations.service.js';
import { AddMemberDto, CreateConversationDto } from './dto/conversations.dto.js';

@Controller('v1/conversations')
@UseGuards(AuthGuard)
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @HttpCode(201)
  async create(@Caller() caller: AuthenticatedDevice, @Body() body: CreateConversationDto) {
    return {
      conversationId: await this.conversations.create(caller.accountId, body.members, body.title),
    };
  }

  @Get()
  async list(@Caller() caller: AuthenticatedDevice) {
    const conversations = await this.conversations.listFor(caller.accountId);
    return { conversations: conversations.map(({ id, title }) => ({ conversationId: id, title })) };
  }

  @Get(':id')
  async read(@Caller() caller: AuthenticatedDevice, @Param('id') id: string) {
    const conversation = await this.conversations.read(caller.accountId, parseUuidParam('id', id));
    return {
      conversationId: conversation.id,
      title: conversation.title,
      members: conversation.members,
    };
  }

  @Post(':id/members')
  @HttpCode(204)
  async addMember(
    @Caller() caller: AuthenticatedDevice,
    @Param('id') id: string,
    @Body() body: AddMemberDto,
  ) {
    await this.conversations.addMember(caller.accountId, parseUuidParam('id', id), body.accountId);
  }

  @Delete(':id/members/:accountId')
  @HttpCode(204)
  async removeMember(
    @Caller() caller: AuthenticatedDevice,
    @Param('id') id: string,
    @Param('accountId') accountId: string,
  ) {
    await this.conversations.removeMember(
      caller.accountId,
      parseUuidParam('id', id),
      parseUuidParam('accountId', accountId),
    );
  }
}
