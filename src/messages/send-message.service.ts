import { Inject, Injectable, Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import { Problem } from '../common/problem.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { ENV, type Env } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import type { SendMessageDto } from './dto/messages.dto.js';
import { DeviceQueues } from './device-queues.js';
import { copyOf } from './message-copy.js';
import { SendCoverage } from './send-coverage.js';
import { checkSendLimits } from './send-limits.js';
import { MessageEvents } from './message-events.js';
import { MessagesRepository } from './messages.repository.js';
import type { AcceptedMessage, StoredMessage } from './messages.types.js';
import { type NoticeNumber, NoticeNumbers } from './notice-numbers.js';

/**
 * Ingest of a stored send: the coverage check and the devices' queue places,
 * the idempotent store (batched with concurrent sends), the notice numbers,
 * and the accepted event that fan-out and the local sockets act on.
 */
@Injectable()
export class SendMessageService {
  private readonly logger = new Logger(SendMessageService.name);

  constructor(
    private readonly repository: MessagesRepository,
    private readonly coverage: SendCoverage,
    private readonly queues: DeviceQueues,
    private readonly events: MessageEvents,
    private readonly noticeNumbers: NoticeNumbers,
    private readonly rateLimiter: RateLimiter,
    private readonly metrics: MetricsService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /** `requestId`: the HTTP request's, carried to the log lines of the fan-out. */
  async send(
    sender: AuthenticatedDevice,
    request: SendMessageDto,
    requestId?: string,
  ): Promise<AcceptedMessage> {
    const ttlSeconds = checkSendLimits(request, this.env);
    // Places in the devices' queues (Redis) are taken beside the coverage
    // check, not after it, and given back if the message is not stored.
    const addressed = request.keys.map((key) => key.deviceId);
    const [checked, full] = await Promise.all([
      this.coverage.countAndCheck(sender, request),
      this.queues.reserve(addressed, request.body.length),
    ]).catch(async (error: unknown) => {
      await this.queues.unreserve(addressed, request.body.length).catch(() => undefined);
      throw error;
    });
    const reserved = addressed.filter((deviceId) => !full.has(deviceId));
    const giveBack = () =>
      this.queues
        .unreserve(reserved, request.body.length)
        .catch((error: Error) =>
          this.logger.warn({ error: describeError(error) }, 'queue places not given back'),
        );
    if (checked.kind === 'refused') {
      void giveBack();
      // A retry of a send accepted before the devices changed still gets its first answer.
      const earlier = await this.repository.findBySenderClientId(
        sender.deviceId,
        request.clientMessageId,
      );
      if (earlier) return earlier;
      throw checked.problem;
    }
    // A full device is left out, and said so: nothing is dropped silently.
    const keys = request.keys.filter((key) => !full.has(key.deviceId));
    const undelivered = [...full].map((deviceId) => ({ deviceId, reason: 'queue_full' as const }));
    let stored: StoredMessage | null;
    try {
      // Counted once covered: the SDK's resend after a 409 is one urgent message, not two.
      if (request.urgent) await this.countUrgent(sender, request.to);
      stored = await this.repository.insert({
        senderAccountId: sender.accountId,
        senderDeviceId: sender.deviceId,
        clientMessageId: request.clientMessageId,
        recipientAccountId: 'accountId' in request.to ? request.to.accountId : null,
        conversationId: 'conversationId' in request.to ? request.to.conversationId : null,
        body: request.body,
        ttlSeconds,
        deliveries: keys,
      });
    } catch (error) {
      void giveBack();
      throw error;
    }
    // A retry stored nothing: the places it took go back.
    if (!stored) void giveBack();
    else if (undelivered.length > 0)
      await this.repository.recordUndelivered(stored.messageId, stored.expiresAt, undelivered);
    const accepted =
      stored ??
      (await this.repository.findBySenderClientId(sender.deviceId, request.clientMessageId));
    if (!accepted) throw new Error('idempotent insert found neither a new nor an earlier message');
    this.metrics.messagesAccepted.inc();
    const deviceIds = keys.map((key) => key.deviceId);
    // An urgent message wakes sleeping devices at once, until it expires.
    const urgentUntil = request.urgent ? accepted.expiresAt.toISOString() : undefined;
    // Numbered after the commit and before the answer: a message its sender
    // sends next is numbered after this one for every device (the order that
    // sockets rely on to send from memory; docs/delivery.md).
    let notices: NoticeNumber[];
    try {
      notices = await this.noticeNumbers.take(deviceIds);
    } catch {
      // Stored, so it is fanned out; the sender's retry (same clientMessageId) gets the 201.
      this.events.emitAccepted({
        messageId: accepted.messageId,
        deviceIds,
        urgentUntil,
        requestId,
      });
      throw Problem.unavailable('The message was stored but not confirmed; send it again');
    }
    this.events.emitAccepted({
      messageId: accepted.messageId,
      deviceIds,
      urgentUntil,
      notices,
      copyFor: stored ? copyOf(sender, request, stored) : undefined,
      requestId,
    });
    return {
      messageId: accepted.messageId,
      acceptedAt: accepted.acceptedAt,
      expiresAt: accepted.expiresAt,
      ...(stored && undelivered.length > 0 ? { undelivered } : {}),
    };
  }

  /**
   * Urgent sends ring sleeping devices past any throttle, so they have their
   * own limit per sender account and recipient (an account or a conversation).
   */
  private async countUrgent(sender: AuthenticatedDevice, to: SendMessageDto['to']): Promise<void> {
    const recipient = 'accountId' in to ? to.accountId : to.conversationId;
    await this.rateLimiter.hit(
      'urgent',
      `${sender.accountId}>${recipient}`,
      this.env.RATE_LIMIT_URGENT_PER_PAIR,
      this.env.RATE_LIMIT_WINDOW_SECONDS,
    );
  }
}
