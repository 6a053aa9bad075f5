import { Module } from '@nestjs/common';
import { AccountDeletionService } from './account-deletion.service.js';
import { AuthGuard } from './auth.guard.js';
import { IdleDevicesService } from './idle-devices.service.js';
import { AuthService } from './auth.service.js';
import { DeviceLifecycle } from './device-lifecycle.js';
import { IdentityController } from './identity.controller.js';
import { IdentityRepository } from './identity.repository.js';
import { IdentityService } from './identity.service.js';

@Module({
  controllers: [IdentityController],
  providers: [
    IdentityRepository,
    IdentityService,
    AccountDeletionService,
    IdleDevicesService,
    AuthService,
    AuthGuard,
    DeviceLifecycle,
  ],
  exports: [IdentityService, IdleDevicesService, AuthService, AuthGuard, DeviceLifecycle],
})
export class IdentityModule {}
