import { z } from 'zod';
import { uuidString, zodDto } from '../../common/validation.js';

export class CreateConversationDto extends zodDto(
  z.strictObject({
    members: z.array(uuidString()).max(10_000),
    title: z.string().trim().min(1).max(200).optional(),
  }),
) {}

export class AddMemberDto extends zodDto(z.strictObject({ accountId: uuidString() })) {}
