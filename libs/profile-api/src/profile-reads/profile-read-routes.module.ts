import { Module } from '@nestjs/common';
import { CustomerProfilesReadController } from './customer-profiles-read.controller';
import { ProfileReadsModule } from './profile-reads.module';
import { ProfilesReadController } from './profiles-read.controller';

/** The GET routes of profiles, contacts and customers' profiles (DESIGN §12). */
@Module({ imports: [ProfileReadsModule], controllers: [ProfilesReadController, CustomerProfilesReadController] })
export class ProfileReadRoutesModule {}
