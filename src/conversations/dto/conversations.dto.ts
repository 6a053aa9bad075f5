import { z } from 'zod';
import { displayText, uuidString, zodDto } from '../../common/validation.js';

export class CreateConversationDto extends zodDto(
  z.strictObject({
    members: z.array(uuidString()).max(10_000),
    title: displayText(200).optional(),
  }),
) {}

export class AddMemberDto extends zodDto(z.strictObject({ accountId: uuidString() })) {}
