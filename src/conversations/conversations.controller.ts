import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { RateLimitGuard, RateLimitPerAccount } from '../rate-limit/rate-limit.guard.js';
import { parseUuidParam } from '../common/validation.js';
import { AuthGuard, Caller } from '../identity/auth.guard.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { ConversationsService } from './conversations.service.js';
import {
  AddMemberDto,
  ConversationListQueryDto,
  CreateConversationDto,
} from './dto/conversations.dto.js';

@Controller('v1/conversations')
// RateLimitGuard after AuthGuard: its limits here count per account.
@UseGuards(AuthGuard, RateLimitGuard)
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @HttpCode(201)
  @RateLimitPerAccount('conversations', 'RATE_LIMIT_CONVERSATIONS')
  async create(@Caller() caller: AuthenticatedDevice, @Body() body: CreateConversationDto) {
    return {
      conversationId: await this.conversations.create(caller.accountId, body.members, body.title),
    };
  }

  @Get()
  async list(@Caller() caller: AuthenticatedDevice, @Query() query: ConversationListQueryDto) {
    const page = await this.conversations.listFor(caller.accountId, query.limit, query.after);
    return {
      conversations: page.conversations.map(({ id, title }) => ({ conversationId: id, title })),
      next: page.next,
    };
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
  @RateLimitPerAccount('member-adds', 'RATE_LIMIT_MEMBER_ADDS')
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
