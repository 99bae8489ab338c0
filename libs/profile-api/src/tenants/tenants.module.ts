import { Module } from '@nestjs/common';
import { TenantAdminService } from './tenant-admin.service';
import { TenantsController } from './tenants.controller';

/** Tenants and keys over HTTP with the admin key (DESIGN §12, seed 004). */
@Module({ controllers: [TenantsController], providers: [TenantAdminService], exports: [TenantAdminService] })
export class TenantsModule {}
