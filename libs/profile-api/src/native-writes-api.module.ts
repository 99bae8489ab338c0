import { Module } from '@nestjs/common';
import { CustomersModule } from './customers/customers.module';
import { ProfilesHttpModule } from './profiles/profiles.module';
import { TenantsModule } from './tenants/tenants.module';

/** The native API's writes and administration (DESIGN §12): served where records are produced (ingest, single node). */
@Module({ imports: [ProfilesHttpModule, CustomersModule, TenantsModule] })
export class NativeWritesApiModule {}
