import { Inject, Injectable } from '@nestjs/common';
import {
  AUTH_CONTEXT,
  concatBytes,
  constantTimeEqual,
  hashSecret,
  randomBytes,
  verifyDetached,
} from '../common/crypto.js';
import { Problem } from '../common/problem.js';
import { uuidString } from '../common/validation.js';
import { ENV, type Env } from '../config/env.js';
import { IdentityRepository, type TokenState } from './identity.repository.js';

export interface AuthenticatedDevice {
  deviceId: string;
  accountId: string;
}

/**
 * What a long-lived connection keeps of its token, to check it again later
 * (never the token): the hash of its secret, base64. Held by every open
 * stream for as long as it is open, so as text, a fraction of a Buffer's
 * memory (a Buffer is two objects and a native allocation).
 */
export interface TokenSession {
  deviceId: string;
  tokenHash: string;
}

export type { TokenState };

const TOKEN_SECRET_BYTES = 32;
// Refreshing lastSeenAt on every request would write on every request.
const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * Challenge–response login and bearer tokens. A token is
 * `<deviceId>.<base64url secret>`; only a hash of the secret is stored, and it
 * is compared in constant time.
 */
@Injectable()
export class AuthService {
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly repository: IdentityRepository,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async issueChallenge(deviceId: string): Promise<{ challenge: string; expiresAt: Date }> {
    const device = await this.repository.findCurrentDevice(deviceId);
    if (!device) throw Problem.notFound('device_not_found', 'No such device');
    const challenge = randomBytes(32);
    const expiresAt = new Date(Date.now() + this.env.CHALLENGE_TTL_SECONDS * 1000);
    await this.repository.insertChallenge(deviceId, hashSecret(challenge), expiresAt);
    return { challenge: challenge.toString('base64'), expiresAt };
  }

  async issueToken(
    deviceId: string,
    challenge: Buffer,
    signature: Buffer,
  ): Promise<{ token: string; expiresAt: Date }> {
    const device = await this.repository.findCurrentDevice(deviceId);
    if (!device) throw Problem.unauthorized('challenge_invalid', 'Unknown device or challenge');
    // Verify before consuming, so a forged signature changes nothing.
    if (!verifyDetached(signature, concatBytes(AUTH_CONTEXT, challenge), device.signingKey)) {
      throw Problem.unauthorized('signature_invalid', 'The signature does not verify');
    }
    const secret = randomBytes(TOKEN_SECRET_BYTES);
    const expiresAt = new Date(Date.now() + this.env.TOKEN_TTL_SECONDS * 1000);
    await this.repository.transaction(async (tx) => {
      if (!(await this.repository.consumeChallenge(tx, deviceId, hashSecret(challenge)))) {
        throw Problem.unauthorized(
          'challenge_invalid',
          'The challenge is unknown, used or expired',
        );
      }
      await this.repository.insertToken(tx, deviceId, hashSecret(secret), expiresAt);
    });
    return { token: `${deviceId}.${secret.toString('base64url')}`, expiresAt };
  }

  /** The device a token belongs to, or a 401 problem. */
  async authenticate(token: string | undefined): Promise<AuthenticatedDevice> {
    return (await this.authenticateSession(token)).device;
  }

  /** Like authenticate, with what a stream needs to check the token again while it stays open. */
  async authenticateSession(
    token: string | undefined,
  ): Promise<{ device: AuthenticatedDevice; session: TokenSession }> {
    const parsed = parseToken(token);
    if (!parsed) throw Problem.unauthorized('token_invalid', 'Missing or malformed bearer token');
    const candidates = await this.repository.liveTokenHashes(parsed.deviceId);
    const presented = hashSecret(parsed.secret);
    const match = candidates.find((candidate) => constantTimeEqual(candidate.tokenHash, presented));
    if (!match)
      throw Problem.unauthorized('token_invalid', 'The token is unknown, expired or revoked');
    // The device id as PostgreSQL returned it, not the one cut from the
    // token: a string cut from another keeps the whole of it in memory, and
    // a stream (or the last-seen map) would hold its token's secret as long.
    const deviceId = match.deviceId;
    this.touch(deviceId);
    return {
      device: { deviceId, accountId: match.accountId },
      session: { deviceId, tokenHash: presented.toString('base64') },
    };
  }

  /** The devices holding a stream were seen now (the idle-device rule counts from last_seen_at). */
  markSeen(deviceIds: string[]): Promise<void> {
    return this.repository.touchDevices(deviceIds);
  }

  /** Whether each session's device is still current and its token unexpired: one query for all. */
  sessionStates(sessions: TokenSession[]): Promise<TokenState[]> {
    return this.repository.tokenStates(sessions);
  }

  private touch(deviceId: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(deviceId) ?? 0) < LAST_SEEN_RESOLUTION_MS) return;
    this.lastTouched.set(deviceId, now);
    if (this.lastTouched.size > 100_000) this.lastTouched.clear();
    this.repository.touchDevice(deviceId).catch(() => undefined);
  }
}

function parseToken(token: string | undefined): { deviceId: string; secret: Buffer } | null {
  if (!token) return null;
  const [deviceIdText, secretText, ...rest] = token.split('.');
  // The device id is lower-cased like every id at the edge: the socket
  // registry, presence and revocation compare it as a string.
  const deviceId = uuidString().safeParse(deviceIdText);
  if (rest.length > 0 || !deviceId.success || !secretText) return null;
  if (!/^[A-Za-z0-9_-]+$/.test(secretText)) return null;
  const secret = Buffer.from(secretText, 'base64url');
  return secret.length === TOKEN_SECRET_BYTES ? { deviceId: deviceId.data, secret } : null;
}
