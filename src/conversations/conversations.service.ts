import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { DeviceLifecycle } from '../identity/device-lifecycle.js';
import { IdentityService } from '../identity/identity.service.js';
import { type ConversationRecord, ConversationsRepository } from './conversations.repository.js';

const notFound = () =>
  Problem.notFound('conversation_not_found', 'No such conversation, or you are not a member');

/**
 * Direct and group conversations. Only members see a conversation; to anyone
 * else it does not exist (404), so ids cannot be probed.
 */
@Injectable()
export class ConversationsService implements OnModuleInit {
  constructor(
    private readonly repository: ConversationsRepository,
    private readonly identity: IdentityService,
    private readonly lifecycle: DeviceLifecycle,
    @Inject(ENV) private readonly env: Env,
  ) {}

  onModuleInit(): void {
    // A deleted account's memberships end with it, in the same transaction.
    this.lifecycle.onAccountDeletedInTransaction((account, tx) =>
      this.repository.removeDeletedAccount(tx, account.accountId),
    );
  }

  async create(
    callerAccountId: string,
    memberAccountIds: string[],
    title?: string,
  ): Promise<string> {
    const others = [...new Set(memberAccountIds)].filter(
      (accountId) => accountId !== callerAccountId,
    );
    if (others.length + 1 > this.env.MAX_CONVERSATION_MEMBERS) {
      throw Problem.conflict(
        'too_many_members',
        `A conversation has at most ${this.env.MAX_CONVERSATION_MEMBERS} members`,
      );
    }
    await this.assertAccountsExist(others);
    return this.repository.create(callerAccountId, others, title ?? null);
  }

  async read(callerAccountId: string, conversationId: string): Promise<ConversationRecord> {
    const conversation = await this.repository.find(conversationId);
    if (!conversation?.members.some((member) => member.accountId === callerAccountId))
      throw notFound();
    return conversation;
  }

  /** The member accounts of a conversation the caller belongs to (the send path uses this). */
  async membersForSender(callerAccountId: string, conversationId: string): Promise<string[]> {
    const members = await this.repository.memberAccountIds(conversationId);
    if (!members.includes(callerAccountId)) throw notFound();
    return members;
  }

  async addMember(
    callerAccountId: string,
    conversationId: string,
    accountId: string,
  ): Promise<void> {
    if (!(await this.repository.memberRole(conversationId, callerAccountId))) throw notFound();
    await this.assertAccountsExist([accountId]);
    if (
      !(await this.repository.addMember(
        conversationId,
        accountId,
        this.env.MAX_CONVERSATION_MEMBERS,
      ))
    ) {
      throw Problem.conflict(
        'too_many_members',
        `A conversation has at most ${this.env.MAX_CONVERSATION_MEMBERS} members`,
      );
    }
  }

  /** A member may leave; the owner may remove anyone. */
  async removeMember(
    callerAccountId: string,
    conversationId: string,
    accountId: string,
  ): Promise<void> {
    const role = await this.repository.memberRole(conversationId, callerAccountId);
    if (!role) throw notFound();
    if (accountId !== callerAccountId && role !== 'owner') {
      throw Problem.forbidden('not_owner', 'Only the owner removes other members');
    }
    if (!(await this.repository.removeMember(conversationId, accountId))) {
      throw Problem.notFound('member_not_found', 'That account is not a member');
    }
  }

  /**
   * One page of the account's conversations in id order; `next` is the value
   * of `after` for the following page, null on the last.
   */
  async listFor(
    accountId: string,
    limit: number,
    after?: string,
  ): Promise<{ conversations: { id: string; title: string | null }[]; next: string | null }> {
    // One row more than asked tells whether another page follows.
    const rows = await this.repository.listFor(accountId, limit + 1, after?.toLowerCase());
    const conversations = rows.slice(0, limit);
    return {
      conversations,
      next: rows.length > limit ? conversations[conversations.length - 1].id : null,
    };
  }

  /** Whether the two accounts are members of at least one common conversation. */
  shareAConversation(accountId: string, otherAccountId: string): Promise<boolean> {
    return this.repository.shareAConversation(accountId, otherAccountId);
  }

  private async assertAccountsExist(accountIds: string[]): Promise<void> {
    const existing = new Set(await this.identity.existingAccountIds(accountIds));
    const unknown = accountIds.filter((accountId) => !existing.has(accountId));
    if (unknown.length > 0) {
      throw Problem.notFound('account_not_found', 'Some accounts do not exist', {
        unknownAccounts: unknown,
      });
    }
  }
}
