import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { routeAccessTable, type RouteAccess } from '../access-policy';
import { openApiTo31 } from './openapi-3-1';
import { ProblemDto, ProblemFieldErrorDto } from './problem.dto';
import { ZAIUS_MODELS } from './zaius-errors.dto';

/** Security scheme names of the document: the key in `x-api-key` (DESIGN §3) or as a bearer token (§12). */
export const API_KEY_SCHEME = 'apiKey';
export const BEARER_SCHEME = 'bearer';

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, Record<string, unknown>>;
  tags?: Array<{ name: string; description?: string }>;
  [key: string]: unknown;
}

export interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: Array<Record<string, unknown>>;
  requestBody?: Record<string, unknown>;
  responses: Record<string, Record<string, unknown>>;
  security?: Array<Record<string, string[]>>;
  'x-access-policy'?: string;
  [key: string]: unknown;
}

const DESCRIPTION = [
  'Tessera: an event-sourced customer data platform. `/v3` is the Zaius / Optimizely Data Platform v3',
  'compatible API (its errors keep the Zaius shapes); `/api/v1` is the native resource API (errors are',
  '`application/problem+json`); `/health` answers probes. Send the key in `x-api-key` or as',
  '`Authorization: Bearer <key>`. Each operation names the key kinds it admits (`x-access-policy`):',
  '`write` — public or private; `read` — read or private; `private` — private only; `admin` — the admin key;',
  '`none` — no key.',
].join(' ');

const KEY_KINDS: Record<string, string> = {
  write: 'a public or private key',
  read: 'a read or private key',
  private: 'a private key',
  admin: 'the admin key (`TESSERA_ADMIN_KEY`)',
};

/** Tessera's version, from the package.json nearest above this file (in src and in dist alike). */
export function tesseraVersion(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tessera' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}

/** `/v3/profiles/:id` → `/v3/profiles/{id}`: Nest's route syntax to OpenAPI's. */
export function openApiPath(nestPath: string): string {
  return nestPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * The path parameters of the native API (DESIGN §12), the same on every route: a route that does not
 * describe one gets this description and example, so every operation can be tried as documented.
 */
export const SECTION_12_PATH_PARAMETERS: Readonly<Record<string, { description: string; example: string }>> = {
  id: { description: 'Profile id (the `zaius_id`; a merged-away id answers its survivor)', example: '0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20' },
  contact_id: { description: 'Contact id (names the tenant, identifier type and value)', example: 'q3Zr8yWkT1m0bXv5nC2aLg' },
  customer: { description: 'Customer account id', example: 'cust-1001' },
  tenant: { description: 'Tenant name', example: 'acme' },
  prefix: { description: 'Key prefix, as listed', example: 'tsk_Ab3dE5gH' },
};

function hasExample(parameter: Record<string, unknown>): boolean {
  const schema = parameter.schema as Record<string, unknown> | undefined;
  return 'example' in parameter || 'examples' in parameter || Array.isArray(schema?.examples) || Array.isArray(schema?.enum);
}

function describeSection12Parameters(document: OpenApiDocument): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      if (!Array.isArray(operation?.parameters)) continue;
      for (const parameter of operation.parameters) {
        const known = parameter.in === 'path' ? SECTION_12_PATH_PARAMETERS[String(parameter.name)] : undefined;
        if (!known) continue;
        parameter.description ??= known.description;
        if (!hasExample(parameter)) parameter.example = known.example;
      }
    }
  }
}

/** Tags in reading order, with what each groups; a tag no route uses is left out, an unknown one goes last. */
const TAGS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'profiles (v3)', description: 'Zaius v3: batch upsert and look-up by identifier (DESIGN §3)' },
  { name: 'events (v3)', description: 'ODP v3 events (DESIGN §10)' },
  { name: 'schema (v3)', description: 'Custom identifier types and declared customer fields (DESIGN §10)' },
  { name: 'consent (v3)', description: 'Consent per identifier (DESIGN §11)' },
  { name: 'compliance (v3)', description: 'GDPR / CCPA / LGPD erasure requests (DESIGN §11)' },
  { name: 'profiles', description: 'Native API: list, search, read, change and erase resolved profiles (DESIGN §12)' },
  { name: 'contacts', description: 'Native API: a profile\'s identifiers as contacts (DESIGN §12)' },
  { name: 'customers', description: 'Native API: customer accounts and their profiles (DESIGN §12)' },
  { name: 'tenants', description: 'Native API: tenants and their keys, with the admin key (DESIGN §12)' },
  { name: 'health', description: 'Probes for orchestrators (no key)' },
  { name: 'docs', description: 'This document and the interactive page (no key)' },
];

function describeTags(document: OpenApiDocument): void {
  const used = new Set(Object.values(document.paths).flatMap((item) => Object.values(item).flatMap((op) => op?.tags ?? [])));
  const known = TAGS.filter((t) => used.has(t.name));
  const unknown = [...used].filter((name) => !TAGS.some((t) => t.name === name)).sort().map((name) => ({ name }));
  document.tags = [...known, ...unknown];
}

/** Each operation's security from its route's access policy: `none` → no key, else either scheme. */
function applyAccessPolicies(document: OpenApiDocument, routes: RouteAccess[]): void {
  for (const route of routes) {
    const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
    if (!operation || !route.access) continue;
    operation['x-access-policy'] = route.access;
    if (route.access === 'none') {
      operation.security = [];
      continue;
    }
    operation.security = [{ [API_KEY_SCHEME]: [] }, { [BEARER_SCHEME]: [] }];
    const needs = `Needs ${KEY_KINDS[route.access] ?? `a key admitted by the \`${route.access}\` policy`}.`;
    operation.description = operation.description ? `${operation.description}\n\n${needs}` : needs;
  }
}

/**
 * The OpenAPI 3.1 document of an app, generated from its Nest controllers (their routes, DTO classes
 * and `@Api*` decorators) and their access policies. Call after the app is created, before it listens.
 */
export function buildOpenApiDocument(app: INestApplication): OpenApiDocument {
  const config = new DocumentBuilder()
    .setTitle('Tessera')
    .setDescription(DESCRIPTION)
    .setVersion(tesseraVersion())
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A tenant key (public, read or private) or the admin key' }, API_KEY_SCHEME)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'Tessera API key', description: 'The same key as `Authorization: Bearer <key>`' }, BEARER_SCHEME)
    .build();
  const generated = SwaggerModule.createDocument(app, config, {
    extraModels: [ProblemDto, ProblemFieldErrorDto, ...ZAIUS_MODELS],
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  const document = openApiTo31(generated) as unknown as OpenApiDocument;
  applyAccessPolicies(document, routeAccessTable(app));
  describeSection12Parameters(document);
  describeTags(document);
  return document;
}
