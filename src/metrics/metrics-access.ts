import { createHash, timingSafeEqual } from 'node:crypto';

// Hashing both sides first gives equal lengths, so the comparison takes the
// same time whatever was presented and leaks not even the token's length.
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether an Authorization header carries `Bearer <token>` (constant-time comparison). */
export function metricsTokenMatches(
  authorization: string | string[] | undefined,
  token: string,
): boolean {
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  const presented = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token));
}
