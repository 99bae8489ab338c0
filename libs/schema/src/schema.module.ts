import { Module } from '@nestjs/common';
import { CustomerFieldsController } from './fields/customer-fields.controller';
import { IdentifierSchemaController } from './identifiers/identifier-schema.controller';
import { SchemaService } from './schema.service';

/** The customer schema routes (DESIGN §10). Needs CoreModule (TenantRepository, rate limiter). */
@Module({
  controllers: [IdentifierSchemaController, CustomerFieldsController],
  providers: [SchemaService],
  exports: [SchemaService],
})
export class SchemaModule {}
