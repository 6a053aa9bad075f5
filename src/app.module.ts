import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from './config/config.module.js';
import type { Env } from './config/env.js';
import { DbModule } from './db/db.module.js';
import { DirectoryModule } from './directory/directory.module.js';
import { HealthModule } from './health/health.module.js';
import { IdentityModule } from './identity/identity.module.js';
import { RedisModule } from './redis/redis.module.js';

@Module({})
export class AppModule {
  /** ROLE=api serves HTTP and WebSocket; ROLE=worker runs the processors; ROLE=all does both. */
  static forRole(env: Env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env),
        DbModule,
        RedisModule,
        HealthModule,
        IdentityModule,
        DirectoryModule,
      ],
    };
  }
}
