import { Module } from '@nestjs/common';
import { ProfileProjectionConsumer } from './profile-projection.consumer';
import { ProjectionRulesCheck } from './projection-rules.check';

/** The profile projector's record handlers; they run on the app's EventLogTransport (see the worker's main). */
@Module({ controllers: [ProfileProjectionConsumer], providers: [ProjectionRulesCheck] })
export class ProfileProjectionModule {}
