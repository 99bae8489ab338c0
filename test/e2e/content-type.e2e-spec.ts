import { rawRequest, RawResponse } from '../support/faults/http';
import { SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;

beforeAll(async () => {
  server = await startSingleNode();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

function post(headers: Record<string, string>): Promise<RawResponse> {
  const body = '{"attributes":{"email":"type@example.com"}}';
  return rawRequest(server.url, {
    method: 'POST',
    path: '/v3/profiles',
    headers: { 'content-length': String(Buffer.byteLength(body)), 'x-api-key': server.publicKey, ...headers },
    body,
  });
}

describe('given a body that is not sent as JSON (issue 9)', () => {
  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['application/xml'],
    ['application/json; charset=latin1'],
    ['application/json; charset=utf-16'],
  ])('when Content-Type is %s, then 415 says to send application/json', async (type) => {
    const r = await post({ 'content-type': type });
    expect(r.status).toBe(415);
    expect(r.json).toMatchObject({ title: 'Unsupported Media Type', status: 415, detail: { message: expect.stringMatching(/^Content-Type must be application\/json/) } });
  });

  it('when the charset is wrong, then the message also names the charset to send and the one given', async () => {
    const r = await post({ 'content-type': 'application/json; charset=latin1' });
    expect(r.json.detail.message).toBe('Content-Type must be application/json; charset=utf-8 (got charset latin1)');
  });

  it('when no Content-Type is sent with a body, then 415 says to send application/json', async () => {
    const r = await post({});
    expect(r.status).toBe(415);
    expect(r.json.detail.message).toMatch(/^Content-Type must be application\/json/);
  });
});
