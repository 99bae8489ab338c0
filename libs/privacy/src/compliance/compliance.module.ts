import { Module } from '@nestjs/common';
import { ComplianceController } from './compliance.controller';
import { ComplianceService } from './compliance.service';

/**
 * POST /v3/compliance/{gdpr|ccpa|lgpd}/delete and GET …/status/{id} (DESIGN §11). Publishes through
 * the ingest lib's one publishing path: the app must also import IngestModule (whose service it finds).
 */
@Module({ controllers: [ComplianceController], providers: [ComplianceService] })
export class ComplianceModule {}
