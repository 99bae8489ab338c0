import { Module } from '@nestjs/common';
import { ProfileEventsController } from './events/profile-events.controller';
import { ProfileEventsReader } from './events/profile-events.reader';

/** The native resource API under /api/v1 (DESIGN §12); errors are problem+json (@tessera/runtime). */
@Module({ controllers: [ProfileEventsController], providers: [ProfileEventsReader] })
export class ProfileApiModule {}
