import { Module } from '@nestjs/common';
import { ProfileQueryController } from './profile-query.controller';

@Module({ controllers: [ProfileQueryController] })
export class QueryModule {}
