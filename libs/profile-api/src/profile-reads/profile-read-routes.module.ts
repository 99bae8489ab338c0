import { Module } from '@nestjs/common';

/** Stub; filled in by its owner (issue 11): the GET routes of profiles, contacts and customers' profiles. */
@Module({})
export class ProfileReadRoutesModule {}
