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
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiDeviceAuth,
  ApiEmptyAnswer,
  ApiJsonBody,
  ApiProblems,
  ApiQueryOf,
  ApiUuidParam,
  DEVICE_AUTH_PROBLEMS,
  INPUT_PROBLEMS,
} from '../api-docs/openapi-decorators.js';
import {
  CONVERSATION,
  CONVERSATION_CREATED,
  CONVERSATION_PAGE,
} from '../api-docs/openapi-schemas.js';
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
@ApiTags('conversations')
@ApiDeviceAuth()
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @ApiOperation({
    operationId: 'createConversation',
    summary: 'Create a conversation (the caller is its owner)',
  })
  @ApiJsonBody(CreateConversationDto)
  @ApiAnswer(201, CONVERSATION_CREATED)
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    ...INPUT_PROBLEMS,
    404: 'account_not_found',
    409: 'too_many_members',
    429: 'rate_limited (per account, Retry-After)',
  })
  @Post()
  @HttpCode(201)
  @RateLimitPerAccount('conversations', 'RATE_LIMIT_CONVERSATIONS')
  async create(@Caller() caller: AuthenticatedDevice, @Body() body: CreateConversationDto) {
    return {
      conversationId: await this.conversations.create(caller.accountId, body.members, body.title),
    };
  }

  @ApiOperation({
    operationId: 'listConversations',
    summary: "A page of the caller's conversations, in id order",
  })
  @ApiQueryOf(ConversationListQueryDto)
  @ApiAnswer(200, CONVERSATION_PAGE)
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, ...INPUT_PROBLEMS })
  @Get()
  async list(@Caller() caller: AuthenticatedDevice, @Query() query: ConversationListQueryDto) {
    const page = await this.conversations.listFor(caller.accountId, query.limit, query.after);
    return {
      conversations: page.conversations.map(({ id, title }) => ({ conversationId: id, title })),
      next: page.next,
    };
  }

  @ApiOperation({ operationId: 'readConversation', summary: 'A conversation (members only)' })
  @ApiUuidParam('id')
  @ApiAnswer(200, CONVERSATION)
  @ApiProblems({ ...DEVICE_AUTH_PROBLEMS, 404: 'conversation_not_found' })
  @Get(':id')
  async read(@Caller() caller: AuthenticatedDevice, @Param('id') id: string) {
    const conversation = await this.conversations.read(caller.accountId, parseUuidParam('id', id));
    return {
      conversationId: conversation.id,
      title: conversation.title,
      members: conversation.members,
    };
  }

  @ApiOperation({ operationId: 'addMember', summary: 'Add a member (members only)' })
  @ApiUuidParam('id')
  @ApiJsonBody(AddMemberDto)
  @ApiEmptyAnswer('Added')
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    ...INPUT_PROBLEMS,
    404: 'conversation_not_found, account_not_found',
    409: 'too_many_members',
    429: 'rate_limited (per account, Retry-After)',
  })
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

  @ApiOperation({
    operationId: 'removeMember',
    summary: 'Remove a member (the owner removes anyone; a member removes only themself)',
  })
  @ApiUuidParam('id')
  @ApiUuidParam('accountId')
  @ApiEmptyAnswer('Removed')
  @ApiProblems({
    ...DEVICE_AUTH_PROBLEMS,
    403: 'not_owner',
    404: 'conversation_not_found, member_not_found',
  })
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
