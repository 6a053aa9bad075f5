import { z } from 'zod';
import { zodDto } from '../../common/validation.js';

export class PlaceHoldDto extends zodDto(
  z.strictObject({
    // The order's reference (a case number), for the record.
    reference: z.string().trim().min(1).max(200),
  }),
) {}

export class LogPageDto extends zodDto(
  z.strictObject({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  }),
) {}
