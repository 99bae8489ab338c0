/**
 * Structural checks of an OpenAPI 3.1 document (what a client generator trips over first): the
 * version, every `$ref` resolving inside the document, path templates matching their path
 * parameters, unique operation ids, responses on every operation, security requirements naming
 * declared schemes. Pure: works on plain JSON. Returns the problems found, none when it is sound.
 */

type Json = Record<string, unknown>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value a local JSON pointer (`#/components/schemas/X`) names, or undefined. */
export function resolvePointer(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const tokens = ref.slice(1).split('/').slice(1).map((t) => decodeURIComponent(t).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = document;
  for (const token of tokens) {
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Json)[token];
    if (node === undefined) return undefined;
  }
  return node;
}

/** Every `$ref` in the document with where it is (a JSON path). */
export function collectRefs(node: unknown, at = '#'): Array<{ at: string; ref: string }> {
  if (Array.isArray(node)) return node.flatMap((item, i) => collectRefs(item, `${at}/${i}`));
  if (!isObject(node)) return [];
  const own = typeof node.$ref === 'string' ? [{ at, ref: node.$ref }] : [];
  // An example's value is data, not OpenAPI: a `$ref` key inside it is not a reference.
  return [...own, ...Object.entries(node).filter(([key]) => key !== 'example' && key !== 'examples' && key !== 'value').flatMap(([key, value]) => collectRefs(value, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`))];
}

export interface OperationEntry {
  path: string;
  method: string;
  operation: Json;
}

export function operationsOf(document: Json): OperationEntry[] {
  const paths = isObject(document.paths) ? document.paths : {};
  return Object.entries(paths).flatMap(([path, item]) =>
    isObject(item) ? HTTP_METHODS.filter((m) => isObject(item[m])).map((method) => ({ path, method, operation: item[method] as Json })) : [],
  );
}

/** An operation's parameters, path-level ones included, `$ref`s resolved. */
export function parametersOf(document: Json, path: string, operation: Json): Json[] {
  const item = (document.paths as Json)[path] as Json;
  const list = [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(operation.parameters) ? operation.parameters : [])];
  return list.map((p) => (isObject(p) && typeof p.$ref === 'string' ? (resolvePointer(document, p.$ref) as Json) : (p as Json))).filter(isObject);
}

export function openApiProblems(document: unknown): string[] {
  if (!isObject(document)) return ['the document is not a JSON object'];
  const problems: string[] = [];
  if (typeof document.openapi !== 'string' || !/^3\.1\.\d+$/.test(document.openapi)) problems.push(`openapi must be 3.1.x (got ${JSON.stringify(document.openapi)})`);
  const info = document.info;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') problems.push('info.title and info.version must be strings');
  if (!isObject(document.paths)) problems.push('paths must be an object');
  if (document.components !== undefined && !isObject(document.components)) problems.push('components must be an object');
  for (const { at, ref } of collectRefs(document)) {
    if (!ref.startsWith('#/')) problems.push(`${at}: $ref ${ref} is not local`);
    else if (resolvePointer(document, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`);
  }
  const schemes = isObject(document.components) && isObject(document.components.securitySchemes) ? document.components.securitySchemes : {};
  const operationIds = new Map<string, string>();
  for (const [path, item] of Object.entries(isObject(document.paths) ? document.paths : {})) {
    if (!path.startsWith('/')) problems.push(`path ${path} must start with /`);
    if (!isObject(item)) continue;
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const method of HTTP_METHODS.filter((m) => m in item)) {
      const operation = item[method];
      const where = `${method.toUpperCase()} ${path}`;
      if (!isObject(operation)) {
        problems.push(`${where}: not an object`);
        continue;
      }
      if (typeof operation.operationId === 'string') {
        const other = operationIds.get(operation.operationId);
        if (other) problems.push(`${where}: operationId ${operation.operationId} is also used by ${other}`);
        operationIds.set(operation.operationId, where);
      } else problems.push(`${where}: no operationId`);
      if (!isObject(operation.responses) || Object.keys(operation.responses).length === 0) problems.push(`${where}: no responses`);
      else {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (!/^([1-5][0-9]{2}|[1-5]XX|default)$/.test(status)) problems.push(`${where}: response key ${status} is not a status`);
          if (isObject(response) && response.$ref === undefined && typeof response.description !== 'string') problems.push(`${where} ${status}: a response needs a description`);
        }
      }
      const parameters = parametersOf(document, path, operation);
      const inPath = parameters.filter((p) => p.in === 'path').map((p) => String(p.name));
      for (const name of templated) if (!inPath.includes(name)) problems.push(`${where}: path parameter {${name}} is not declared`);
      for (const p of parameters.filter((p) => p.in === 'path')) {
        if (!templated.includes(String(p.name))) problems.push(`${where}: path parameter ${p.name} is not in the path`);
        if (p.required !== true) problems.push(`${where}: path parameter ${p.name} must be required`);
      }
      const seen = new Set<string>();
      for (const p of parameters) {
        if (!['query', 'header', 'path', 'cookie'].includes(String(p.in))) problems.push(`${where}: parameter ${p.name} has in=${p.in}`);
        if (!('schema' in p) === !('content' in p)) problems.push(`${where}: parameter ${p.name} needs exactly one of schema and content`);
        const key = `${p.in}:${p.name}`;
        if (seen.has(key)) problems.push(`${where}: parameter ${p.name} (${p.in}) is declared twice`);
        seen.add(key);
      }
      if (isObject(operation.requestBody) && !isObject(operation.requestBody.content)) problems.push(`${where}: requestBody needs content`);
      for (const requirement of Array.isArray(operation.security) ? operation.security : []) {
        for (const scheme of Object.keys(isObject(requirement) ? requirement : {})) if (!(scheme in schemes)) problems.push(`${where}: security scheme ${scheme} is not declared`);
      }
    }
  }
  return problems;
}
