import { describeError } from '../common/describe-error.js';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { ENV, type Env } from '../config/env.js';
import { FanoutTrackingService } from '../messages/fanout-tracking.service.js';
import { FanoutProducer } from './fanout.producer.js';

// A message younger than this may simply still be in its queue.
const GRACE_SECONDS = 2;
const BATCH = 1000;

/**
 * Losing Redis loses queued jobs, never messages: every interval this
 * re-enqueues the fan-out of messages that PostgreSQL says were never fanned
 * out. A plain timer, not a BullMQ scheduler, so it survives a Redis flush;
 * job ids dedupe it across workers. A job that failed all its attempts
 * (PostgreSQL down meanwhile, say) is not kept (queue.module.ts), so its
 * messages are tried again here under the same id.
 */
@Injectable()
export class FanoutReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FanoutReconciler.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly tracking: FanoutTrackingService,
    private readonly producer: FanoutProducer,
    @Inject(ENV) private readonly env: Env,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.reconcileOnce(),
      this.env.RECONCILE_INTERVAL_SECONDS * 1000,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; returns how many fan-outs were re-enqueued. */
  async reconcileOnce(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const messageIds = await this.tracking.notFannedOut(GRACE_SECONDS, BATCH);
      if (messageIds.length > 0) {
        await this.producer.enqueue(messageIds.map((messageId) => ({ messageId })));
        this.logger.log({ messages: messageIds.length }, 're-enqueued lost fan-outs');
      }
      return messageIds.length;
    } catch (error) {
      this.logger.warn({ error: describeError(error) }, 'reconcile failed');
      return 0;
    } finally {
      this.running = false;
    }
  }
}
