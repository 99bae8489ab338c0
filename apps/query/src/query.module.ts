import { Module } from '@nestjs/common';
import { ProfileQueryController } from './profiles/profile-query.controller';

@Module({ controllers: [ProfileQueryController] })
export class QueryModule {}
