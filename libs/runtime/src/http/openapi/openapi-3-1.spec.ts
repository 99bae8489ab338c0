import { openApiTo31, schemaTo31 } from './openapi-3-1';
import { collectRefs, openApiProblems } from './openapi-check';

describe('schemaTo31 (OpenAPI 3.0 schema → JSON Schema 2020-12)', () => {
  it('given a nullable typed schema, when raised, then null joins its type (and its enum)', () => {
    expect(schemaTo31({ type: 'string', nullable: true })).toEqual({ type: ['string', 'null'] });
    expect(schemaTo31({ type: 'string', enum: ['a'], nullable: true })).toEqual({ type: ['string', 'null'], enum: ['a', null] });
    expect(schemaTo31({ type: 'string', nullable: false })).toEqual({ type: 'string' });
  });

  it('given a nullable reference, when raised, then it is anyOf the reference and null, annotations outside', () => {
    expect(schemaTo31({ allOf: [{ $ref: '#/components/schemas/X' }], nullable: true, description: 'd' })).toEqual({
      description: 'd',
      anyOf: [{ allOf: [{ $ref: '#/components/schemas/X' }] }, { type: 'null' }],
    });
  });

  it('given a nullable reference as swagger writes it ({type: object, allOf: [$ref]}), when raised, then null is an alternative, not a type beside the reference', () => {
    expect(schemaTo31({ type: 'object', nullable: true, allOf: [{ $ref: '#/components/schemas/X' }] })).toEqual({
      anyOf: [{ type: 'object', allOf: [{ $ref: '#/components/schemas/X' }] }, { type: 'null' }],
    });
  });

  it('given boolean exclusive bounds and an example, when raised, then bounds are numbers and the example is in examples', () => {
    expect(schemaTo31({ type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 9, exclusiveMaximum: false, example: 3 })).toEqual({
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 9,
      examples: [3],
    });
  });

  it('given nested schemas, when raised, then properties, items, additionalProperties and compositions are raised too', () => {
    const out = schemaTo31({
      type: 'object',
      properties: { a: { type: 'integer', nullable: true }, b: { type: 'array', items: { type: 'string', nullable: true } } },
      additionalProperties: { oneOf: [{ type: 'boolean', nullable: true }] },
    });
    expect(out).toEqual({
      type: 'object',
      properties: { a: { type: ['integer', 'null'] }, b: { type: 'array', items: { type: ['string', 'null'] } } },
      additionalProperties: { oneOf: [{ type: ['boolean', 'null'] }] },
    });
  });

  it('given a property named like a keyword, when raised, then it is treated as a property, not a keyword', () => {
    expect(schemaTo31({ type: 'object', properties: { nullable: { type: 'boolean' }, example: { type: 'string', nullable: true } } })).toEqual({
      type: 'object',
      properties: { nullable: { type: 'boolean' }, example: { type: ['string', 'null'] } },
    });
  });
});

describe('openApiTo31 and openApiProblems', () => {
  const doc30 = {
    openapi: '3.0.0',
    info: { title: 'T', version: '1' },
    paths: {
      '/things/{id}': {
        get: {
          operationId: 'getThing',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', nullable: true } }],
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } } },
          security: [{ key: [] }],
        },
      },
    },
    components: { schemas: { Thing: { type: 'object', properties: { name: { type: 'string', nullable: true } } } }, securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
  };

  it('given a 3.0 document, when raised, then it is 3.1 with every schema raised, and sound', () => {
    const doc = openApiTo31(doc30);
    expect(doc.openapi).toBe('3.1.0');
    expect((doc.components as any).schemas.Thing.properties.name).toEqual({ type: ['string', 'null'] });
    expect((doc.paths as any)['/things/{id}'].get.parameters[0].schema).toEqual({ type: ['string', 'null'] });
    expect(openApiProblems(doc)).toEqual([]);
  });

  it('given a broken document, when checked, then every problem is named', () => {
    const broken = JSON.parse(JSON.stringify(openApiTo31(doc30)));
    broken.paths['/things/{id}'].get.responses['200'].content['application/json'].schema.$ref = '#/components/schemas/Nope';
    broken.paths['/things/{id}'].get.parameters[0].name = 'thing';
    broken.paths['/things/{id}'].get.security = [{ bearer: [] }];
    broken.paths['/other'] = { post: { operationId: 'getThing', responses: {} } };
    expect(openApiProblems(broken)).toEqual([
      '#/paths/~1things~1{id}/get/responses/200/content/application~1json/schema: $ref #/components/schemas/Nope does not resolve',
      'GET /things/{id}: path parameter {id} is not declared',
      'GET /things/{id}: path parameter thing is not in the path',
      'GET /things/{id}: security scheme bearer is not declared',
      'POST /other: operationId getThing is also used by GET /things/{id}',
      'POST /other: no responses',
    ]);
    expect(openApiProblems({ ...broken, openapi: '3.0.3' })[0]).toBe('openapi must be 3.1.x (got "3.0.3")');
  });

  it('given an example holding a "$ref" key, when refs are collected, then it is data, not a reference', () => {
    expect(collectRefs({ example: { $ref: 'x' }, schema: { $ref: '#/a' } })).toEqual([{ at: '#/schema', ref: '#/a' }]);
  });
});
