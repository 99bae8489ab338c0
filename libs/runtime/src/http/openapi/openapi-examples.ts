import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { operationsOf, parametersOf } from './openapi-check';

/**
 * Checks an OpenAPI 3.1 document's schemas and examples with a JSON Schema 2020-12 validator (ajv,
 * strict: a misspelt keyword is an error, not ignored). For tests and tools; not used at run time.
 */

type Json = Record<string, unknown>;
const BASE = 'https://tessera.invalid/openapi/schemas/';
/** OpenAPI's own keywords in a Schema Object (besides JSON Schema's). */
const OPENAPI_KEYWORDS = ['discriminator', 'xml', 'externalDocs', 'x-enumNames'];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `#/components/schemas/X` → an absolute id ajv knows; deep, examples left alone. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!isObject(node)) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) return [key, BASE + value.slice('#/components/schemas/'.length)];
      if (key === 'examples' || key === 'example' || key === 'const' || key === 'enum' || key === 'default') return [key, value];
      return [key, rewriteRefs(value)];
    }),
  );
}

export interface SchemaIssue {
  where: string;
  errors: string[];
}

export class OpenApiSchemas {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<unknown, ValidateFunction>();
  readonly componentIssues: SchemaIssue[] = [];

  constructor(private readonly document: Json) {
    this.ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(OPENAPI_KEYWORDS);
    const schemas = isObject(document.components) && isObject(document.components.schemas) ? document.components.schemas : {};
    for (const [name, schema] of Object.entries(schemas)) this.ajv.addSchema({ ...(rewriteRefs(schema) as Json), $id: BASE + name });
    for (const name of Object.keys(schemas)) {
      try {
        this.ajv.getSchema(BASE + name);
      } catch (error) {
        this.componentIssues.push({ where: `#/components/schemas/${name}`, errors: [(error as Error).message] });
      }
    }
  }

  /** Errors of `value` against `schema` (an inline schema of the document), none when it validates. */
  validate(schema: unknown, value: unknown): string[] {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(isObject(schema) ? (rewriteRefs(schema) as Json) : (schema as boolean as never));
      this.compiled.set(schema, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}

export interface DocumentedExample {
  where: string;
  schema: unknown;
  value: unknown;
}

function mediaExamples(where: string, content: unknown): DocumentedExample[] {
  if (!isObject(content)) return [];
  return Object.entries(content).flatMap(([media, object]) => {
    if (!isObject(object) || !('schema' in object)) return [];
    const out: DocumentedExample[] = [];
    if ('example' in object) out.push({ where: `${where} ${media} example`, schema: object.schema, value: object.example });
    if (isObject(object.examples)) for (const [name, ex] of Object.entries(object.examples)) if (isObject(ex) && 'value' in ex) out.push({ where: `${where} ${media} examples.${name}`, schema: object.schema, value: ex.value });
    return out;
  });
}

function parameterExamples(where: string, parameter: Json): DocumentedExample[] {
  const out: DocumentedExample[] = [];
  if ('example' in parameter && 'schema' in parameter) out.push({ where: `${where} example`, schema: parameter.schema, value: parameter.example });
  if (isObject(parameter.examples) && 'schema' in parameter) {
    for (const [name, ex] of Object.entries(parameter.examples)) if (isObject(ex) && 'value' in ex) out.push({ where: `${where} examples.${name}`, schema: parameter.schema, value: ex.value });
  }
  if ('content' in parameter) out.push(...mediaExamples(where, parameter.content));
  return out;
}

const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SUBSCHEMA_SINGLES = ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else'];

/** `examples: [..]` inside a schema (and its subschemas): each must validate against that schema. */
function schemaExamples(where: string, schema: unknown): DocumentedExample[] {
  if (!isObject(schema)) return [];
  const out: DocumentedExample[] = [];
  if (Array.isArray(schema.examples)) {
    const { examples, ...rest } = schema;
    examples.forEach((value, i) => out.push({ where: `${where} examples[${i}]`, schema: rest, value }));
  }
  for (const key of SUBSCHEMA_MAPS) if (isObject(schema[key])) for (const [k, s] of Object.entries(schema[key] as Json)) out.push(...schemaExamples(`${where}/${key}/${k}`, s));
  for (const key of SUBSCHEMA_LISTS) if (Array.isArray(schema[key])) (schema[key] as unknown[]).forEach((s, i) => out.push(...schemaExamples(`${where}/${key}/${i}`, s)));
  for (const key of SUBSCHEMA_SINGLES) if (key in schema) out.push(...schemaExamples(`${where}/${key}`, schema[key]));
  return out;
}

function contentSchemas(where: string, content: unknown): DocumentedExample[] {
  if (!isObject(content)) return [];
  return Object.entries(content).flatMap(([media, object]) => (isObject(object) ? schemaExamples(`${where} ${media} schema`, object.schema) : []));
}

/** Every example the document holds: media types, parameters, headers, and schemas' `examples`. */
export function documentedExamples(document: Json): DocumentedExample[] {
  const out: DocumentedExample[] = [];
  for (const { path, method, operation } of operationsOf(document)) {
    const at = `${method.toUpperCase()} ${path}`;
    for (const parameter of parametersOf(document, path, operation)) {
      out.push(...parameterExamples(`${at} parameter ${parameter.name}`, parameter));
      out.push(...schemaExamples(`${at} parameter ${parameter.name} schema`, parameter.schema));
    }
    if (isObject(operation.requestBody)) {
      out.push(...mediaExamples(`${at} requestBody`, operation.requestBody.content));
      out.push(...contentSchemas(`${at} requestBody`, operation.requestBody.content));
    }
    for (const [status, response] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
      if (!isObject(response)) continue;
      out.push(...mediaExamples(`${at} ${status}`, response.content));
      out.push(...contentSchemas(`${at} ${status}`, response.content));
      if (isObject(response.headers)) for (const [name, header] of Object.entries(response.headers)) if (isObject(header)) out.push(...parameterExamples(`${at} ${status} header ${name}`, header), ...schemaExamples(`${at} ${status} header ${name} schema`, header.schema));
    }
  }
  const schemas = isObject(document.components) && isObject(document.components.schemas) ? document.components.schemas : {};
  for (const [name, schema] of Object.entries(schemas)) out.push(...schemaExamples(`#/components/schemas/${name}`, schema));
  return out;
}

/**
 * A value built from a schema's own examples (through `$ref`s, the first branch of a composition,
 * every property that has one), as swagger-ui builds its "Example Value"; undefined when none can be.
 */
export function sampleFromSchema(document: Json, schema: unknown, depth = 0): unknown {
  if (!isObject(schema) || depth > 12) return undefined;
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.split('/').slice(1).reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), document);
    return sampleFromSchema(document, target, depth + 1);
  }
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  for (const key of ['allOf', 'oneOf', 'anyOf']) if (Array.isArray(schema[key])) return sampleFromSchema(document, (schema[key] as unknown[])[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object' || isObject(schema.properties)) {
    const out: Json = {};
    for (const [name, property] of Object.entries(isObject(schema.properties) ? schema.properties : {})) {
      const value = sampleFromSchema(document, property, depth + 1);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  if (type === 'array') {
    const item = sampleFromSchema(document, schema.items, depth + 1);
    return item === undefined ? [] : [item];
  }
  return undefined;
}

/** The example of a media type: its own (`example`, first of `examples`), else one built from its schema. */
export function mediaExample(document: Json, media: unknown): { value: unknown; from: 'media' | 'schema' } | undefined {
  if (!isObject(media)) return undefined;
  if ('example' in media) return { value: media.example, from: 'media' };
  const named = isObject(media.examples) ? Object.values(media.examples).filter(isObject) : [];
  if (named.length && 'value' in named[0]) return { value: named[0].value, from: 'media' };
  const sample = sampleFromSchema(document, media.schema);
  return sample === undefined ? undefined : { value: sample, from: 'schema' };
}
