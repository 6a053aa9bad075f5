import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import https from 'node:https';
import webpush from 'web-push';
import { ENV, type Env } from '../config/env.js';
import { EndpointPolicy } from './endpoint-policy.js';
import type { PushSubscriptionRecord } from './push-subscriptions.repository.js';
import type { VapidKeyPair } from './vapid-keys.service.js';

export interface PushRequest {
  /** The RFC 8291 plaintext (our sealed payload). */
  payload: Buffer;
  ttlSeconds: number;
  urgency: 'normal' | 'high';
  /** RFC 8030 Topic: a push service keeps only the latest push of a topic. */
  topic: string;
}

/** What the push service answered. */
export type PushOutcome =
  | { kind: 'delivered' }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status: number; retryAfterMs?: number }
  | { kind: 'refused'; status: number };

/**
 * Sends one push. `web-push` builds the request (aes128gcm encryption, the
 * VAPID JWT and headers); we send it ourselves because its own sender has no
 * way to check the addresses it connects to (the endpoint policy), no bound
 * on the response it reads, and only a socket-idle timeout.
 */
@Injectable()
export class PushSender implements OnApplicationShutdown {
  private readonly agent: https.Agent;

  constructor(
    @Inject(ENV) private readonly env: Env,
    policy: EndpointPolicy,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, lookup: policy.lookup });
  }

  async send(
    subscription: PushSubscriptionRecord,
    vapid: VapidKeyPair,
    request: PushRequest,
  ): Promise<PushOutcome> {
    const details = webpush.generateRequestDetails(
      {
        endpoint: subscription.endpoint,
        keys: {
          p256dh: subscription.p256dh.toString('base64url'),
          auth: subscription.auth.toString('base64url'),
        },
      },
      request.payload,
      {
        vapidDetails: { subject: this.env.VAPID_SUBJECT, ...vapid },
        TTL: request.ttlSeconds,
        urgency: request.urgency,
        topic: request.topic,
        contentEncoding: 'aes128gcm',
      },
    );
    const { status, retryAfter } = await this.post(details.endpoint, details.headers, details.body);
    if (status >= 200 && status < 300) return { kind: 'delivered' };
    if (status === 404 || status === 410) return { kind: 'gone', status };
    if (status === 429 || status >= 500)
      return { kind: 'retry', status, retryAfterMs: retryAfterMs(retryAfter) };
    return { kind: 'refused', status };
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  private post(
    endpoint: string,
    headers: Record<string, string | number>,
    body: Buffer,
  ): Promise<{ status: number; retryAfter?: string }> {
    return new Promise((resolve, reject) => {
      const request = https.request(endpoint, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': body.length },
        agent: this.agent,
        // The whole exchange, not only an idle socket: a push service that
        // trickles its answer holds a worker slot no longer than this.
        signal: AbortSignal.timeout(this.env.PUSH_TIMEOUT_MS),
      });
      request.on('error', reject);
      request.on('response', (response) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          // The answer's body is never used: read at most the cap, then hang up.
          received += chunk.length;
          if (received > this.env.PUSH_MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'],
          });
        response.on('end', done);
        response.on('close', done);
        response.on('error', () => undefined);
      });
      request.end(body);
    });
  }
}

/** Retry-After in seconds or as an HTTP date (RFC 9110), in milliseconds from now. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  // An HTTP date starts with the day's name ("Thu, 03 Dec 2026 …").
  if (!/^[A-Za-z]{3}, /.test(value.trim())) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
