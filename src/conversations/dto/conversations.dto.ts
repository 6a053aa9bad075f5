import { z } from 'zod';
import { displayText, uuidString, zodDto } from '../../common/validation.js';

export class CreateConversationDto extends zodDto(
  z.strictObject({
    members: z.array(uuidString()).max(10_000),
    title: displayText(200).optional(),
  }),
) {}

export class AddMemberDto extends zodDto(z.strictObject({ accountId: uuidString() })) {}

export const CONVERSATION_PAGE_DEFAULT = 100;
export const CONVERSATION_PAGE_MAX = 500;

export class ConversationListQueryDto extends zodDto(
  z.strictObject({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(CONVERSATION_PAGE_MAX)
      .default(CONVERSATION_PAGE_DEFAULT),
    // The `next` of the previous page: the last conversation id it held.
    after: uuidString().optional().describe('The `next` of the previous page'),
  }),
) {}
