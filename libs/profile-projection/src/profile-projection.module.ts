import { Module } from '@nestjs/common';
import { ProfileProjectionConsumer } from './profile-projection.consumer';

/** The profile projector's record handlers; they run on the app's EventLogTransport (see the worker's main). */
@Module({ controllers: [ProfileProjectionConsumer] })
export class ProfileProjectionModule {}
