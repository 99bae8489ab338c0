import { Module } from '@nestjs/common';
import { ApiKeyGuard, LeanRoutes } from '@tessera/runtime';
import { ProfileLookupService } from './profile-lookup.service';
import { ProfileQueryController } from './profile-query.controller';
import { ProfileQueryLeanRoute } from './profile-query.lean-route';

@Module({ controllers: [ProfileQueryController], providers: [ProfileLookupService, ApiKeyGuard, LeanRoutes, ProfileQueryLeanRoute] })
export class QueryModule {}
