import { Inject, Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';

export interface TurnCredentials {
  urls: string[];
  username: string;
  credential: string;
  ttlSeconds: number;
}

/**
 * Short-lived TURN credentials under the TURN REST convention that coturn's
 * `use-auth-secret` checks: the username is "<unix expiry>:<deviceId>", the
 * password base64(HMAC-SHA1(shared secret, username)). The TURN server needs
 * no account database and no call to us; a credential ends at its expiry.
 */
@Injectable()
export class TurnCredentialsService {
  constructor(@Inject(ENV) private readonly env: Env) {}

  issue(deviceId: string, now = Date.now()): TurnCredentials {
    const secret = this.env.TURN_SECRET;
    const urls = this.env.TURN_URLS;
    if (!secret || urls.length === 0) {
      throw new Problem(
        503,
        'turn_unavailable',
        'Service unavailable',
        'No TURN server is configured',
      );
    }
    const ttlSeconds = this.env.TURN_CREDENTIAL_TTL_SECONDS;
    const username = `${Math.floor(now / 1000) + ttlSeconds}:${deviceId}`;
    return { urls, username, credential: turnCredential(secret, username), ttlSeconds };
  }
}

/** The TURN REST password of a username. */
export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}
