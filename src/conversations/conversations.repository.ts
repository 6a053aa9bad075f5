import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { Batcher, groupRowsBy } from '../common/batcher.js';
import { type Database, DRIZZLE, type Executor, PG_POOL } from '../db/db.module.js';
import { conversationMembers, conversations } from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { drizzleStatement, preparedStatement } from '../db/statements.js';

export type MemberRole = 'owner' | 'member';

export interface ConversationRecord {
  id: string;
  title: string | null;
  members: { accountId: string; role: MemberRole }[];
}

const MEMBER = sqlNames(conversationMembers);
const CONVERSATION = sqlNames(conversations);

// Run on the deleting transaction; $1 is the deleted account.
const REMOVE_DELETED_ACCOUNT = drizzleStatement(
  'conversations-remove-deleted-account',
  `
  WITH left_conversations AS (
    DELETE FROM ${MEMBER.$table} WHERE ${MEMBER.accountId} = $1
    RETURNING ${MEMBER.conversationId}, ${MEMBER.role}
  ),
  successors AS (
    SELECT DISTINCT ON (m.${MEMBER.conversationId}) m.${MEMBER.conversationId}, m.${MEMBER.accountId}
      FROM ${MEMBER.$table} m
      JOIN left_conversations l ON l.${MEMBER.conversationId} = m.${MEMBER.conversationId} AND l.${MEMBER.role} = 'owner'
     WHERE m.${MEMBER.accountId} <> $1
       AND NOT EXISTS (SELECT 1 FROM ${MEMBER.$table} o
                        WHERE o.${MEMBER.conversationId} = m.${MEMBER.conversationId} AND o.${MEMBER.role} = 'owner'
                          AND o.${MEMBER.accountId} <> $1)
     ORDER BY m.${MEMBER.conversationId}, m.${MEMBER.joinedAt}, m.${MEMBER.accountId}
  ),
  promoted AS (
    UPDATE ${MEMBER.$table} m SET ${MEMBER.role} = 'owner'
      FROM successors s
     WHERE m.${MEMBER.conversationId} = s.${MEMBER.conversationId} AND m.${MEMBER.accountId} = s.${MEMBER.accountId}
    RETURNING m.${MEMBER.conversationId}
  )
  DELETE FROM ${CONVERSATION.$table} c
   USING left_conversations l
   WHERE c.${CONVERSATION.id} = l.${MEMBER.conversationId}
     AND NOT EXISTS (SELECT 1 FROM ${MEMBER.$table} m
                      WHERE m.${MEMBER.conversationId} = c.${CONVERSATION.id} AND m.${MEMBER.accountId} <> $1)`,
);

// Every send to a conversation reads its members (the coverage check).
const MEMBER_ACCOUNT_IDS = preparedStatement(
  'conversations-member-account-ids',
  `SELECT ${MEMBER.conversationId} AS "conversationId", ${MEMBER.accountId} AS "accountId"
     FROM ${MEMBER.$table} WHERE ${MEMBER.conversationId} = ANY($1::uuid[])`,
);

/** The only code that touches the conversation tables. */
@Injectable()
export class ConversationsRepository {
  // Batched per event-loop turn, as the devices the same check reads next.
  private readonly membersByConversation = new Batcher(async (conversationIds: string[]) => {
    const result = await this.pool.query<{ conversationId: string; accountId: string }>({
      ...MEMBER_ACCOUNT_IDS,
      values: [conversationIds],
    });
    return groupRowsBy(conversationIds, result.rows, (row) => row.conversationId).map((rows) =>
      rows.map((row) => row.accountId),
    );
  });

  constructor(
    @Inject(DRIZZLE) private readonly db: Database,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  async create(
    ownerAccountId: string,
    memberAccountIds: string[],
    title: string | null,
  ): Promise<string> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(conversations)
        .values({ title, createdByAccountId: ownerAccountId })
        .returning({ id: conversations.id });
      await tx.insert(conversationMembers).values([
        { conversationId: row.id, accountId: ownerAccountId, role: 'owner' as const },
        ...memberAccountIds.map((accountId) => ({
          conversationId: row.id,
          accountId,
          role: 'member' as const,
        })),
      ]);
      return row.id;
    });
  }

  async find(conversationId: string): Promise<ConversationRecord | null> {
    const [conversation] = await this.db
      .select({ id: conversations.id, title: conversations.title })
      .from(conversations)
      .where(eq(conversations.id, conversationId));
    if (!conversation) return null;
    const members = await this.db
      .select({ accountId: conversationMembers.accountId, role: conversationMembers.role })
      .from(conversationMembers)
      .where(eq(conversationMembers.conversationId, conversationId))
      .orderBy(asc(conversationMembers.joinedAt), asc(conversationMembers.accountId));
    return { ...conversation, members };
  }

  async memberRole(conversationId: string, accountId: string): Promise<MemberRole | null> {
    const [row] = await this.db
      .select({ role: conversationMembers.role })
      .from(conversationMembers)
      .where(
        and(
          eq(conversationMembers.conversationId, conversationId),
          eq(conversationMembers.accountId, accountId),
        ),
      );
    return row?.role ?? null;
  }

  memberAccountIds(conversationId: string): Promise<string[]> {
    return this.membersByConversation.load(conversationId);
  }

  /** Adds a member unless the conversation would pass `maxMembers`; false when full. */
  async addMember(conversationId: string, accountId: string, maxMembers: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Serialises concurrent additions so the cap holds.
      await tx.execute(
        sql`SELECT 1 FROM ${conversations} WHERE ${conversations.id} = ${conversationId} FOR UPDATE`,
      );
      const [{ total }] = await tx
        .select({ total: count() })
        .from(conversationMembers)
        .where(eq(conversationMembers.conversationId, conversationId));
      const already = await tx
        .select({ accountId: conversationMembers.accountId })
        .from(conversationMembers)
        .where(
          and(
            eq(conversationMembers.conversationId, conversationId),
            eq(conversationMembers.accountId, accountId),
          ),
        );
      if (already.length > 0) return true;
      if (total >= maxMembers) return false;
      await tx
        .insert(conversationMembers)
        .values({ conversationId, accountId, role: 'member' })
        .onConflictDoNothing();
      return true;
    });
  }

  /**
   * A deleted account leaves every conversation, inside the deleting
   * transaction: where it was the owner, the member who joined first becomes
   * the owner; a conversation left with no member is deleted.
   */
  async removeDeletedAccount(tx: Executor, accountId: string): Promise<void> {
    await tx.execute(REMOVE_DELETED_ACCOUNT([accountId]));
  }

  async removeMember(conversationId: string, accountId: string): Promise<boolean> {
    const rows = await this.db
      .delete(conversationMembers)
      .where(
        and(
          eq(conversationMembers.conversationId, conversationId),
          eq(conversationMembers.accountId, accountId),
        ),
      )
      .returning({ accountId: conversationMembers.accountId });
    return rows.length > 0;
  }

  /** Up to `limit` of the account's conversations with ids after `after`, in id order. */
  async listFor(
    accountId: string,
    limit: number,
    after?: string,
  ): Promise<{ id: string; title: string | null }[]> {
    return this.db
      .select({ id: conversations.id, title: conversations.title })
      .from(conversationMembers)
      .innerJoin(conversations, eq(conversations.id, conversationMembers.conversationId))
      .where(
        and(
          eq(conversationMembers.accountId, accountId),
          after ? gt(conversationMembers.conversationId, after) : undefined,
        ),
      )
      .orderBy(asc(conversationMembers.conversationId))
      .limit(limit);
  }

  async shareAConversation(accountId: string, otherAccountId: string): Promise<boolean> {
    const mine = alias(conversationMembers, 'mine');
    const theirs = alias(conversationMembers, 'theirs');
    const [row] = await this.db
      .select({ conversationId: mine.conversationId })
      .from(mine)
      .innerJoin(theirs, eq(theirs.conversationId, mine.conversationId))
      .where(and(eq(mine.accountId, accountId), eq(theirs.accountId, otherAccountId)))
      .limit(1);
    return row !== undefined;
  }
}
