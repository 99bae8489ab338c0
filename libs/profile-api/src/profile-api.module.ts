import { Module } from '@nestjs/common';
import { ProfileEventsController } from './events/profile-events.controller';
import { ProfileEventsReader } from './events/profile-events.reader';
import { ProfileReadRoutesModule } from './profile-reads/profile-read-routes.module';

/** The native resource API's reads under /api/v1 (DESIGN §12); errors are problem+json (@tessera/runtime). */
@Module({ imports: [ProfileReadRoutesModule], controllers: [ProfileEventsController], providers: [ProfileEventsReader] })
export class ProfileApiModule {}
