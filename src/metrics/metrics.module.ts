import { Global, Module } from '@nestjs/common';
import { MetricsAccessGuard, MetricsController } from './metrics.controller.js';
import { MetricsServer } from './metrics.server.js';
import { MetricsService } from './metrics.service.js';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, MetricsAccessGuard, MetricsServer],
  exports: [MetricsService],
})
export class MetricsModule {}
