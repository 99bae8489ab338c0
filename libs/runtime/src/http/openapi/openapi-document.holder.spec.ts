import type { OpenApiDocument } from './openapi-document';
import { OpenApiDocumentHolder } from './openapi-document.holder';

const doc = { openapi: '3.1.0', info: { title: 'Tessera', version: '1' }, paths: { '/a': {} }, components: {} } as unknown as OpenApiDocument;

function logger() {
  const lines: string[] = [];
  return { lines, debug: (_: object, msg: string) => lines.push(`debug ${msg}`), error: (_: object, msg: string) => lines.push(`error ${msg}`) };
}

describe('OpenApiDocumentHolder', () => {
  it('given a generator, when the document is read twice, then it is generated once, on first read, and served serialised', () => {
    const holder = new OpenApiDocumentHolder();
    let calls = 0;
    const log = logger();
    holder.generateWith(() => (calls++, doc), log);
    expect(calls).toBe(0); // nothing at start-up
    expect(holder.json).toBe(JSON.stringify(doc));
    expect(holder.document).toBe(doc);
    expect(calls).toBe(1);
    expect(log.lines).toEqual(['debug OpenAPI document generated']);
  });

  it('given a generator that throws, when read, then there is no document, the failure is logged once and not retried', () => {
    const holder = new OpenApiDocumentHolder();
    let calls = 0;
    const log = logger();
    holder.generateWith(() => {
      calls++;
      throw new Error('bad decorator');
    }, log);
    expect(holder.json).toBeUndefined();
    expect(holder.document).toBeUndefined();
    expect(calls).toBe(1);
    expect(log.lines).toEqual(['error OpenAPI document could not be generated: /openapi.json answers 503']);
  });

  it('given no generator, when read, then there is no document', () => {
    expect(new OpenApiDocumentHolder().json).toBeUndefined();
  });
});
