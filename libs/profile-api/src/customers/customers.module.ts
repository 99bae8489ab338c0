import { Module } from '@nestjs/common';
import { ProfilesHttpModule } from '../profiles/profiles.module';
import { CustomerProfileWritesController } from './customer-profile-writes.controller';

/** The writes of customers' profiles (seed 000, DESIGN §12); GETs are served by the read routes. */
@Module({ imports: [ProfilesHttpModule], controllers: [CustomerProfileWritesController] })
export class CustomersModule {}
