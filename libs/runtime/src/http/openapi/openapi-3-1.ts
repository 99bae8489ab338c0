/**
 * Raises the OpenAPI 3.0 document @nestjs/swagger generates to OpenAPI 3.1, whose Schema Objects are
 * JSON Schema 2020-12: `nullable` becomes a `null` type (or an `anyOf` with `{type: "null"}` around a
 * reference), boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, and a schema's `example`
 * becomes `examples: [..]`. Pure: no Nest imports; works on plain JSON.
 */

type Json = Record<string, unknown>;

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'] as const;
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
const SCHEMA_SINGLES = ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else', 'unevaluatedProperties', 'unevaluatedItems'] as const;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One Schema Object (and everything under it), 3.0 → 3.1. Returns a new object. */
export function schemaTo31(input: unknown): unknown {
  if (!isObject(input)) return input; // `true`/`false` schemas
  const schema: Json = { ...input };
  for (const key of SCHEMA_MAPS) {
    if (isObject(schema[key])) schema[key] = Object.fromEntries(Object.entries(schema[key] as Json).map(([k, v]) => [k, schemaTo31(v)]));
  }
  for (const key of SCHEMA_LISTS) {
    if (Array.isArray(schema[key])) schema[key] = (schema[key] as unknown[]).map(schemaTo31);
  }
  for (const key of SCHEMA_SINGLES) {
    if (Array.isArray(schema[key])) schema[key] = (schema[key] as unknown[]).map(schemaTo31); // 3.0 tuple-ish items (not generated, but harmless)
    else if (key in schema) schema[key] = schemaTo31(schema[key]);
  }
  for (const bound of ['Minimum', 'Maximum'] as const) {
    const exclusive = `exclusive${bound}`;
    const limit = bound.toLowerCase();
    if (schema[exclusive] === true) {
      schema[exclusive] = schema[limit];
      delete schema[limit];
    } else if (schema[exclusive] === false) delete schema[exclusive];
  }
  if ('example' in schema) {
    if (!('examples' in schema)) schema.examples = [schema.example];
    delete schema.example;
  }
  const nullable = schema.nullable === true;
  delete schema.nullable;
  return nullable ? withNull(schema) : schema;
}

/** The schema admitting `null` as well. */
function withNull(schema: Json): Json {
  const composed = ['$ref', 'allOf', 'oneOf', 'anyOf'].some((k) => k in schema);
  if (!composed && (typeof schema.type === 'string' || Array.isArray(schema.type))) {
    const types = ([] as unknown[]).concat(schema.type);
    const out: Json = { ...schema, type: types.includes('null') ? types : [...types, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  // A `$ref` or a composition (swagger writes a nullable reference as `{type: object, allOf: [$ref]}`):
  // `null` or the schema — a `null` type beside `allOf` would still have to match the reference.
  const { description, title, examples, default: dflt, deprecated, readOnly, writeOnly, ...rest } = schema;
  const annotations = Object.fromEntries(Object.entries({ description, title, examples, default: dflt, deprecated, readOnly, writeOnly }).filter(([, v]) => v !== undefined));
  return { ...annotations, anyOf: [rest, { type: 'null' }] };
}

function mapContent(content: unknown): unknown {
  if (!isObject(content)) return content;
  return Object.fromEntries(Object.entries(content).map(([media, object]) => [media, isObject(object) && 'schema' in object ? { ...object, schema: schemaTo31(object.schema) } : object]));
}

function mapParameter(parameter: unknown): unknown {
  if (!isObject(parameter)) return parameter;
  const out: Json = { ...parameter };
  if ('schema' in out) out.schema = schemaTo31(out.schema);
  if ('content' in out) out.content = mapContent(out.content);
  return out;
}

function mapResponse(response: unknown): unknown {
  if (!isObject(response)) return response;
  const out: Json = { ...response };
  if ('content' in out) out.content = mapContent(out.content);
  if (isObject(out.headers)) out.headers = Object.fromEntries(Object.entries(out.headers).map(([k, h]) => [k, mapParameter(h)]));
  return out;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function mapOperation(operation: unknown): unknown {
  if (!isObject(operation)) return operation;
  const out: Json = { ...operation };
  if (Array.isArray(out.parameters)) out.parameters = out.parameters.map(mapParameter);
  if (isObject(out.requestBody)) out.requestBody = { ...out.requestBody, content: mapContent(out.requestBody.content) };
  if (isObject(out.responses)) out.responses = Object.fromEntries(Object.entries(out.responses).map(([status, r]) => [status, mapResponse(r)]));
  return out;
}

/** The whole document, 3.0 → 3.1 (`openapi: "3.1.0"`, JSON Schema 2020-12 as the schema dialect). */
export function openApiTo31<T extends object>(document: T): T & { openapi: '3.1.0' } {
  const doc = { ...(document as Json) };
  doc.openapi = '3.1.0';
  doc.jsonSchemaDialect = 'https://spec.openapis.org/oas/3.1/dialect/base';
  if (isObject(doc.paths)) {
    doc.paths = Object.fromEntries(
      Object.entries(doc.paths).map(([path, item]) => {
        if (!isObject(item)) return [path, item];
        const out: Json = { ...item };
        for (const method of HTTP_METHODS) if (method in out) out[method] = mapOperation(out[method]);
        if (Array.isArray(out.parameters)) out.parameters = out.parameters.map(mapParameter);
        return [path, out];
      }),
    );
  }
  if (isObject(doc.components)) {
    const components: Json = { ...doc.components };
    if (isObject(components.schemas)) components.schemas = Object.fromEntries(Object.entries(components.schemas).map(([k, s]) => [k, schemaTo31(s)]));
    if (isObject(components.parameters)) components.parameters = Object.fromEntries(Object.entries(components.parameters).map(([k, p]) => [k, mapParameter(p)]));
    if (isObject(components.responses)) components.responses = Object.fromEntries(Object.entries(components.responses).map(([k, r]) => [k, mapResponse(r)]));
    doc.components = components;
  }
  return doc as T & { openapi: '3.1.0' };
}
