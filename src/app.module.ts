import { LoggingModule } from './common/logging.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module.js';
import { CallsModule } from './calls/calls.module.js';
import { AfterCommitModule } from './common/after-commit.js';
import { ConfigModule } from './config/config.module.js';
import type { Env } from './config/env.js';
import { ConversationsModule } from './conversations/conversations.module.js';
import { DbModule } from './db/db.module.js';
import { DirectoryModule } from './directory/directory.module.js';
import { HealthModule } from './health/health.module.js';
import { IdentityModule } from './identity/identity.module.js';
import { MessagesModule } from './messages/messages.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PushApiModule, PushWorkerModule } from './push/push.module.js';
import { QueueModule } from './queue/queue.module.js';
import { RedisModule } from './redis/redis.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SyncWorkerModule } from './sync/sync-worker.module.js';
import { SyncModule } from './sync/sync.module.js';

@Module({})
export class AppModule {
  /** ROLE=api serves HTTP and WebSocket; ROLE=worker runs the processors; ROLE=all does both. */
  static forRole(env: Env): DynamicModule {
    const runsWorkers = env.ROLE !== 'api';
    const servesClients = env.ROLE !== 'worker';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env),
        LoggingModule,
        AfterCommitModule,
        DbModule,
        RedisModule,
        RateLimitModule,
        QueueModule,
        HealthModule,
        MetricsModule,
        IdentityModule,
        DirectoryModule,
        ConversationsModule,
        MessagesModule,
        ...(servesClients ? [SyncModule, PushApiModule, CallsModule, AdminModule] : []),
        ...(runsWorkers ? [RetentionModule, SyncWorkerModule, PushWorkerModule] : []),
      ],
    };
  }
}
