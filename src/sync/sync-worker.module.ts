import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module.js';
import { PushModule } from '../push/push.module.js';
import { FanoutReconciler } from './fanout-reconciler.js';
import { FanoutProcessor } from './fanout.processor.js';
import { LiveModule } from './live.module.js';

/** The worker side of sync: the fan-out processor and its reconciler. */
@Module({
  imports: [MessagesModule, PushModule, LiveModule],
  providers: [FanoutProcessor, FanoutReconciler],
  exports: [FanoutReconciler],
})
export class SyncWorkerModule {}
