import { Module } from '@nestjs/common';
import { WakeupService } from './wakeup.service.js';

@Module({ providers: [WakeupService], exports: [WakeupService] })
export class PushModule {}
