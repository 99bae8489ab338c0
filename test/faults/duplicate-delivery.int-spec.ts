// Issue 5 §1: duplicate delivery of a batch has no double effect. A client that did not see the 202
// (timeout, 503, dropped connection) re-sends the whole batch; the state must be the one of a single
// delivery — same people, same ids, same identifiers, same attributes — even when the retry arrives
// after newer writes. (Redelivery of the same log records to the worker is covered in
// libs/profile-projection/src/profile-projector.int-spec.ts.)
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1' };
const tag = `dup${process.pid}`;
let server: SingleNode;
let api: ProfilesClient;

beforeAll(async () => {
  server = await startSingleNode({ env: ENV });
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

/** Posts a sentinel and waits for it: with one partition, everything posted before is applied. */
async function settled(name: string): Promise<void> {
  const email = `sentinel.${name}.${tag}@example.com`;
  expect((await api.post({ attributes: { email } })).status).toBe(202);
  await api.until(`email=${encodeURIComponent(email)}`);
}

/** What a client can observe of each person, by one identifier each (updated_at left out). */
async function snapshot(queries: string[]) {
  const out: Record<string, unknown> = {};
  for (const q of queries) {
    const r = await api.get(q);
    out[q] = r.status === 200 ? { attributes: r.body.attributes, identifiers: r.body.identifiers, created_at: r.body.created_at } : r.status;
  }
  return out;
}

describe('given a batch with explicit event times, including a merge of two people', () => {
  const e = (n: string) => `${n}.${tag}@example.com`;
  const batch = [
    { attributes: { email: e('ann'), first_name: 'Ann', score: 10, ts: 1_700_000_000 } },
    { attributes: { phone: `+1 555 ${String(process.pid).padStart(7, '0')}`, title: 'CTO', ts: 1_700_000_100 } }, // another profile…
    { attributes: { email: e('ann.work'), phone: `+1 555 ${String(process.pid).padStart(7, '0')}`, ts: 1_700_000_150 } },
    { attributes: { email: e('ann'), source: 'crm', phone: `+1 555 ${String(process.pid).padStart(7, '0')}`, ts: 1_700_000_160 } }, // …merged into Ann's
    { attributes: { email: e('bob'), customer_id: `cust-${tag}`, first_name: 'Bob', tags: ['a', 'b'], ts: 1_700_000_200 } },
    { attributes: { vuid: `device-${tag}`, last_page: '/pricing', ts: 1_700_000_300 } },
    { attributes: { email: e('bob'), first_name: null, nickname: 'Bobby', ts: 1_700_000_400 } }, // clears first_name
  ];
  const queries = [
    `email=${encodeURIComponent(e('ann'))}`,
    `email=${encodeURIComponent(e('ann.work'))}`,
    `phone=${encodeURIComponent(`+1 555 ${String(process.pid).padStart(7, '0')}`)}`,
    `email=${encodeURIComponent(e('bob'))}`,
    `customer_id=cust-${tag}`,
    `vuid=device-${tag}`,
  ];

  it('when it is delivered twice, then the state is exactly that of one delivery', async () => {
    expect((await api.post(batch)).status).toBe(202);
    await settled('once');
    const once = await snapshot(queries);
    expect(once[queries[0]]).toMatchObject({ attributes: { first_name: 'Ann', title: 'CTO', score: 10 } });
    const annId = (once[queries[0]] as any).attributes.zaius_id;
    expect((once[queries[1]] as any).attributes.zaius_id).toBe(annId);
    expect((once[queries[2]] as any).attributes.zaius_id).toBe(annId); // the phone's profile merged into Ann's
    expect((once[queries[3]] as any).attributes).not.toHaveProperty('first_name');

    expect((await api.post(batch)).status).toBe(202);
    await settled('twice');
    expect(await snapshot(queries)).toEqual(once);
  });

  it('when a retry of an old batch arrives after newer writes, then it does not roll them back', async () => {
    const newer = [
      { attributes: { email: e('ann'), first_name: 'Annabel', score: 11, ts: 1_750_000_000 } },
      { attributes: { email: e('bob'), first_name: 'Robert', ts: 1_750_000_000 } },
    ];
    expect((await api.post(newer)).status).toBe(202);
    await settled('newer');
    const current = await snapshot(queries);
    expect(current[queries[0]]).toMatchObject({ attributes: { first_name: 'Annabel', score: 11, title: 'CTO' } });

    expect((await api.post(batch)).status).toBe(202); // the late duplicate of the first batch
    await settled('late');
    expect(await snapshot(queries)).toEqual(current);
  });
});
