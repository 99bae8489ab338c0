import { Module } from '@nestjs/common';
import { ProfileReadsModule } from '../profile-reads/profile-reads.module';
import { ProfileWritesModule } from '../profile-writes/profile-writes.module';
import { ProfileContactWritesController } from './profile-contact-writes.controller';
import { ProfileWriteAnswers } from './profile-write-answers.service';
import { ProfileWritesController } from './profile-writes.controller';

/** The native API's profile and contact writes (DESIGN §12); their answers read through ProfileReads. */
@Module({
  imports: [ProfileWritesModule, ProfileReadsModule],
  controllers: [ProfileWritesController, ProfileContactWritesController],
  providers: [ProfileWriteAnswers],
  exports: [ProfileWriteAnswers, ProfileReadsModule],
})
export class ProfilesHttpModule {}
