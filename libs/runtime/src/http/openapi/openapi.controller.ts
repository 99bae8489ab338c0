import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '../access-policy';
import { ApiProblemException } from '../api-problem.exception';
import { DOCS_ASSET_NAMES, DOCS_CONTENT_SECURITY_POLICY, DOCS_HTML, docsAssets } from './docs-assets';
import { OpenApiDocumentHolder } from './openapi-document.holder';
import { ApiZaiusErrorResponse } from './zaius-errors.dto';

/** `GET /openapi.json` and the interactive page `/docs`: open to anyone, like health (DESIGN §12). */
@ApiTags('docs')
@Controller()
@Access('none')
export class OpenApiController {
  constructor(private readonly holder: OpenApiDocumentHolder) {}

  @Get('openapi.json')
  @Header('content-type', 'application/json; charset=utf-8')
  @ApiOperation({ summary: 'This OpenAPI 3.1 document', description: 'Generated at start-up from the routes, their DTO classes and their access policies.' })
  @ApiOkResponse({ description: 'The OpenAPI 3.1 document', schema: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' }, info: { type: 'object' }, paths: { type: 'object' } } }, example: { openapi: '3.1.0', info: { title: 'Tessera', version: '0.1.0' }, paths: {} } })
  @ApiZaiusErrorResponse(503, 'The document could not be generated at start-up (the log says why)')
  document(): string {
    const json = this.holder.json;
    if (json === undefined) throw new ApiProblemException(503, { message: 'the OpenAPI document is not available' });
    return json;
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_CONTENT_SECURITY_POLICY)
  @ApiOperation({ summary: 'Interactive API documentation (swagger-ui)', description: 'Loads /openapi.json; every asset is served by Tessera itself (no CDN).' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The HTML page', schema: { type: 'string' } })
  page(): string {
    return DOCS_HTML;
  }

  @Get('docs/:file')
  @ApiOperation({ summary: 'A static asset of the documentation page' })
  @ApiParam({ name: 'file', enum: DOCS_ASSET_NAMES, description: 'The asset' })
  @ApiProduces('text/javascript', 'text/css', 'image/png')
  @ApiOkResponse({ description: 'The asset', schema: { type: 'string' } })
  @ApiZaiusErrorResponse(404, 'No such asset', 'No such route')
  asset(@Param('file') file: string, @Res({ passthrough: true }) reply: FastifyReply): Buffer {
    const asset = docsAssets().get(file);
    if (!asset) throw new ApiProblemException(404, { message: 'No such route' });
    reply.header('content-type', asset.contentType).header('cache-control', 'public, max-age=3600');
    return asset.body;
  }
}

