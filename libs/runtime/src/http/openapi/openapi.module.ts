import { Module } from '@nestjs/common';
import { OpenApiController } from './openapi.controller';
import { OpenApiDocumentHolder } from './openapi-document.holder';

/** `/openapi.json` and `/docs`, added to every HTTP app by `createHttpApp`. */
@Module({
  controllers: [OpenApiController],
  providers: [OpenApiDocumentHolder],
  exports: [OpenApiDocumentHolder],
})
export class OpenApiModule {}
