import { z } from 'zod';
import { base64Bytes, displayText, uuidString, zodDto } from '../../common/validation.js';

export const HANDLE_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

export const deviceKeysSchema = z.strictObject({
  name: displayText(64),
  signingKey: base64Bytes({ length: 32 }),
  boxKey: base64Bytes({ length: 32 }),
  boxKeySignature: base64Bytes({ length: 64 }),
});
export type DeviceKeys = z.infer<typeof deviceKeysSchema>;

export class CreateAccountDto extends zodDto(
  z.strictObject({
    handle: z.string().regex(HANDLE_PATTERN, 'must be 3–32 characters of a-z, 0-9, _ . -'),
    device: deviceKeysSchema,
  }),
) {}

export class ChallengeRequestDto extends zodDto(z.strictObject({ deviceId: uuidString() })) {}

export class TokenRequestDto extends zodDto(
  z.strictObject({
    deviceId: uuidString(),
    challenge: base64Bytes({ length: 32 }),
    signature: base64Bytes({ length: 64 }),
  }),
) {}

export class LinkDeviceDto extends zodDto(
  z.strictObject({
    code: z.string().min(1).max(128),
    device: deviceKeysSchema,
  }),
) {}
