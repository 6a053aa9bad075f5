import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Problem } from '../common/problem.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { ENV, type Env } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { DeviceLifecycle } from '../identity/device-lifecycle.js';
import type { SendMessageDto } from './dto/messages.dto.js';
import { DeviceQueues } from './device-queues.js';
import { DayKeys } from './at-rest/day-keys.service.js';
import { copyOf } from './message-copy.js';
import { EphemeralSendService } from './ephemeral-send.service.js';
import { SendCoverage } from './send-coverage.js';
import { checkSendLimits } from './send-limits.js';
import { MessageEvents } from './message-events.js';
import {
  type AcceptedMessage,
  type DroppedPartition,
  type ExpiredUnread,
  MessagesRepository,
  type PendingMessage,
  type PendingPage,
  type StoredMessage,
} from './messages.repository.js';
import { type NoticeNumber, NoticeNumbers } from './notice-numbers.js';

// How long partition DDL may wait for a table lock (inserts queue behind it meanwhile).
const DDL_LOCK_TIMEOUT_MS = 2000;
// The side-row purge works at most half the time (it pauses as long as each
// batch took) and at most this long a run. At the batch times measured in
// the purge benchmark (50,000 rows in 100-140 ms) that is some two million
// rows a run: the claims of about 30,000 msgs/s sustained, never a core
// taken from the sends.
const SIDE_ROW_BUDGET_MS = 10_000;

export interface PurgeResult {
  /** Days whose partitions were created (null: a table lock was not had in time). */
  createdDays: number | null;
  /** Daily partitions dropped whole (each of the four tables counts one). */
  droppedPartitions: number;
  /** The partitions dropped: names, sizes, messages held. */
  partitions: DroppedPartition[];
  /** Expired messages deleted row by row (from today's and the DEFAULT partitions). */
  deletedMessages: number;
  /** The ciphertext bytes of those. */
  deletedBytes: number;
  /** The earliest expiry of a message still stored after the run. */
  oldestExpiryLeft: Date | null;
  /** Copies kept of expired messages of accounts under a legal hold, before they went. */
  heldCopies: number;
  /** Messages that expired with devices that never acked them (recorded for their senders). */
  expiredUnread: number;
  /** The days whose at-rest keys were destroyed (YYYY-MM-DD): their rows are unreadable anywhere. */
  dayKeysDestroyed: string[];
  /** How long each step took (ensure, drop, delete), for the log and the benchmark. */
  stepMs: Record<'ensure' | 'drop' | 'delete', number>;
}

export interface SideRowPurgeResult {
  deletedRows: number;
  /** False when the run stopped at its time budget with expired rows left. */
  complete: boolean;
}

/** Runs `batch` until one comes back short or `maxBatches` ran; returns the totals. */
async function inBatches(
  batchSize: number,
  maxBatches: number,
  batch: (size: number) => Promise<{ messages: number; bytes: number }>,
): Promise<{ messages: number; bytes: number }> {
  const total = { messages: 0, bytes: 0 };
  for (let index = 0; index < maxBatches; index++) {
    const done = await batch(batchSize);
    total.messages += done.messages;
    total.bytes += done.bytes;
    if (done.messages < batchSize) break;
  }
  return total;
}

/** Ingest (coverage, idempotency, the transactional store) and the per-device inbox. */
@Injectable()
export class MessagesService implements OnModuleInit {
  private readonly logger = new Logger(MessagesService.name);

  constructor(
    private readonly repository: MessagesRepository,
    private readonly coverage: SendCoverage,
    private readonly queues: DeviceQueues,
    private readonly ephemeral: EphemeralSendService,
    private readonly lifecycle: DeviceLifecycle,
    private readonly events: MessageEvents,
    private readonly noticeNumbers: NoticeNumbers,
    private readonly rateLimiter: RateLimiter,
    private readonly metrics: MetricsService,
    private readonly dayKeys: DayKeys,
    @Inject(ENV) private readonly env: Env,
  ) {}

  onModuleInit(): void {
    // A revoked device's pending messages end with it, in the same transaction.
    this.lifecycle.onRevokedInTransaction((device, tx) =>
      this.repository.dropDeviceDeliveries(tx, device.deviceId, device.reason),
    );
    this.lifecycle.onRevokedAfterCommit(async (device) => {
      await Promise.all([
        this.noticeNumbers.forget(device.deviceId),
        this.queues.forget(device.deviceId),
      ]);
    });
    this.lifecycle.onAccountDeletedAfterCommit(async (account) => {
      await this.ephemeral.forgetClaimsOf(account.deviceIds);
    });
  }

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
   * Up to `limit` messages pending for the device, oldest first, and at most
   * PAGE_MAX_BYTES of them; `more` when others wait.
   */
  inbox(deviceId: string, limit: number): Promise<PendingPage> {
    return this.repository.pending(deviceId, { limit, maxBytes: this.env.PAGE_MAX_BYTES });
  }

  /** A page of pending messages after `afterSeq`, for streaming a backlog. */
  pendingAfter(
    deviceId: string,
    afterSeq: number,
    limit: number,
    maxBytes = this.env.PAGE_MAX_BYTES,
  ): Promise<PendingPage> {
    return this.repository.pending(deviceId, { limit, maxBytes, afterSeq });
  }

  pendingByIds(deviceId: string, messageIds: string[]): Promise<PendingMessage[]> {
    return this.repository.pendingByIds(deviceId, messageIds);
  }

  /** Expired-unread messages whose `expired` frames are owed, marked as sent. */
  takeExpiredToNotify(limit: number): Promise<ExpiredUnread[]> {
    return this.repository.takeExpiredToNotify(limit);
  }

  /** Copies aside the expired messages of accounts under a legal hold (see the purge). */
  copyHeldBeforePurge(): Promise<number> {
    return this.repository.copyHeldBeforePurge();
  }

  /** What a wake-up push announces: how many messages wait for the device, until when. */
  pendingSummary(deviceId: string): Promise<{ count: number; lastExpiresAt: Date | null }> {
    return this.repository.pendingSummary(deviceId);
  }

  pendingDeviceIds(messageId: string): Promise<string[]> {
    return this.repository.pendingDeviceIds(messageId);
  }

  markFannedOut(messageIds: string[]): Promise<void> {
    return this.repository.markFannedOut(messageIds);
  }

  notFannedOut(graceSeconds: number, limit: number): Promise<string[]> {
    return this.repository.notFannedOut(graceSeconds, limit);
  }

  /**
   * Acks messages for the device; returns how many were pending for it.
   * `keys`: the expiresAtKey of messages the caller read (the stream), which
   * spares the look-up of their partition.
   */
  async ack(
    deviceId: string,
    messageIds: string[],
    keys?: ReadonlyMap<string, string>,
  ): Promise<number> {
    const acked = await this.repository.ack(deviceId, [...new Set(messageIds)], keys);
    this.metrics.deliveriesAcked.inc(acked.length);
    await this.queues.released(deviceId, acked.length);
    this.events.emitAcked(deviceId, acked);
    return acked.length;
  }

  async status(callerAccountId: string, messageId: string) {
    const status = await this.repository.status(messageId);
    if (!status || status.senderAccountId !== callerAccountId) {
      throw Problem.notFound('message_not_found', 'No such message sent by this account');
    }
    return {
      devices: status.deviceCount,
      delivered: status.delivered.length,
      pending: status.expired ? 0 : status.pending.length,
      deliveredDevices: status.delivered,
      pendingDevices: status.expired ? [] : status.pending,
      undelivered: status.undelivered,
      ...(status.expired ? { expired: status.pending } : {}),
    };
  }

  /**
   * The purge of expired messages: (1) makes sure the daily partitions exist
   * for everything that can be accepted now; (2) drops the partitions whose
   * day is over (the bulk, at the cost of a DROP); (3) deletes, in bounded
   * batches, the expired rows that remain (today's partition and DEFAULT).
   * `maxBatches` bounds that loop (tests use it). Claims and fan-out marks
   * have their own run: `purgeExpiredSideRows`.
   */
  async purgeExpired(
    batchSize: number,
    maxBatches = Number.POSITIVE_INFINITY,
  ): Promise<PurgeResult> {
    const stepMs = {} as PurgeResult['stepMs'];
    const timed = async <T>(step: keyof PurgeResult['stepMs'], work: () => Promise<T>) => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        stepMs[step] = Math.round(performance.now() - started);
      }
    };
    const createdDays = await timed('ensure', () =>
      this.repository.ensurePartitions(this.env.MAX_TTL_SECONDS, DDL_LOCK_TIMEOUT_MS),
    );
    // Held accounts' expired messages are copied aside first: the hold keeps them past expiry.
    const heldCopies = await this.repository.copyHeldBeforePurge();
    // And what expired unread is recorded: the senders' status and their `expired` frames.
    const expiredUnread = await this.repository.recordExpiredUnread();
    const leaving = await this.repository.expiredDeliveriesPerDevice();
    // The keys of the days that are over go before their partitions: the
    // rows' copies elsewhere (backups, replicas, WAL) are unreadable from then.
    const dayKeysDestroyed = await this.dayKeys.destroyEnded();
    const partitions = await timed('drop', () =>
      this.repository.dropEndedPartitions(DDL_LOCK_TIMEOUT_MS),
    );
    const deleted = await timed('delete', () =>
      inBatches(batchSize, maxBatches, (size) => this.repository.deleteExpired(size)),
    );
    // Off the queue counts: what expired is gone from every device's queue.
    await Promise.all(leaving.map(({ deviceId, count }) => this.queues.released(deviceId, count)));
    return {
      createdDays,
      droppedPartitions: partitions.length,
      partitions,
      deletedMessages: deleted.messages,
      deletedBytes: deleted.bytes,
      oldestExpiryLeft: await this.repository.oldestExpiry(),
      heldCopies,
      expiredUnread,
      dayKeysDestroyed,
      stepMs,
    };
  }

  /**
   * Deletes expired idempotency claims and fan-out marks (ids only, no body
   * or key) in batches until none is left, at most half the time and at most
   * SIDE_ROW_BUDGET_MS a run. Kept out of `purgeExpired`: a day's million
   * claims take seconds to delete, and the expired messages should not wait
   * for them. Until its claim goes, a retry of an expired message still gets
   * its first answer and stores nothing.
   */
  async purgeExpiredSideRows(
    batchSize: number,
    budgetMs = SIDE_ROW_BUDGET_MS,
  ): Promise<SideRowPurgeResult> {
    const started = performance.now();
    let deletedRows = 0;
    for (;;) {
      const batchStarted = performance.now();
      const deleted = await this.repository.deleteExpiredSideRows(batchSize);
      deletedRows += deleted;
      if (deleted < batchSize) return { deletedRows, complete: true };
      const batchMs = performance.now() - batchStarted;
      // The pause that follows counts against the budget too.
      const spentMs = performance.now() - started + batchMs;
      if (spentMs > budgetMs) return { deletedRows, complete: false };
      await sleep(batchMs);
    }
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
