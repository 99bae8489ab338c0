import { Module } from '@nestjs/common';

/** Stub; filled in by its owner (issue 11). */
@Module({})
export class ProfileWritesModule {}
