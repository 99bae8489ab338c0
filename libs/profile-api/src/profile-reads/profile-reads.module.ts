import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ProfileSearchRepository } from '@tessera/store';
import { ProfileReads } from './profile-reads.port';
import { ProfileReadsService } from './profile-reads.service';

/** Reads of the native API (DESIGN §12): ProfileReadsService, also as the ProfileReads port the write routes answer with. */
@Module({
  providers: [
    { provide: ProfileSearchRepository, useFactory: (dataSource: DataSource) => new ProfileSearchRepository(dataSource), inject: [DataSource] },
    ProfileReadsService,
    { provide: ProfileReads, useExisting: ProfileReadsService },
  ],
  exports: [ProfileReadsService, ProfileReads],
})
export class ProfileReadsModule {}
