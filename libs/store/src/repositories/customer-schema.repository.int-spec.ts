// DESIGN §10 customer schema on real PostgreSQL: changes decided under the tenant's row lock (no name
// declared twice by racing requests), and the declared fields ingest reads through the 5 s cache.
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../../test/support/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { CustomerSchemaState } from './customer-schema.repository';
import { TENANT_CACHE_MAX_AGE_MS, TenantRepository } from './tenant.repository';

let db: TestDatabase;
let ds: DataSource;
const clock = { t: 1_000_000 };

beforeAll(async () => {
  db = await createTestDatabase('customer_schema');
  ds = createDataSource(db.url, 10);
  await ds.initialize();
  await runMigrationsLocked(ds);
});

afterAll(async () => {
  await ds.destroy();
  await db.drop();
});

/** Adds `name` as a field unless a field or identifier type already has it (what libs/schema decides). */
const addFieldOnce = (name: string) => (state: CustomerSchemaState) => {
  const taken = state.fields.some((f) => f.name === name) || state.identifierTypes.some((t) => t.type === name);
  return taken ? { result: false } : { result: true, addField: { name, type: 'number' as const, displayName: 'N', description: null } };
};

describe('TenantRepository.changeCustomerSchema', () => {
  it('given ten racing declarations of one name, then exactly one is added', async () => {
    const tenants = new TenantRepository(ds);
    await tenants.ensureTenant('race');
    const results = await Promise.all(Array.from({ length: 10 }, () => new TenantRepository(ds).changeCustomerSchema('race', addFieldOnce('score'))));
    expect(results.filter((r) => r.found && r.result)).toHaveLength(1);
    expect((await tenants.customerSchema('race'))!.fields).toEqual([{ name: 'score', type: 'number', displayName: 'N', description: null }]);
  });

  it('given an identifier type and a field racing for one name, then only one of them gets it', async () => {
    const tenants = new TenantRepository(ds);
    await tenants.ensureTenant('mixed');
    const asType = tenants.changeCustomerSchema('mixed', (state) =>
      state.fields.some((f) => f.name === 'x_id') ? { result: false } : { result: true, identifierTypes: [...state.identifierTypes, { type: 'x_id', confidence: 'high' as const }] },
    );
    const [a, b] = await Promise.all([asType, tenants.changeCustomerSchema('mixed', addFieldOnce('x_id'))]);
    expect([a, b].filter((r) => r.found && r.result)).toHaveLength(1);
    const state = (await tenants.customerSchema('mixed'))!;
    expect(state.fields.length + state.identifierTypes.length).toBe(1);
  });

  it('given a decision that throws, then nothing is written', async () => {
    const tenants = new TenantRepository(ds);
    await tenants.ensureTenant('refused');
    await expect(
      tenants.changeCustomerSchema('refused', (state) => {
        void state;
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await tenants.customerSchema('refused')).toEqual({ identifierTypes: [], fields: [] });
  });

  it('given no such tenant, then found is false and nothing is written', async () => {
    expect(await new TenantRepository(ds).changeCustomerSchema('nosuch', addFieldOnce('a'))).toEqual({ found: false });
    expect(await new TenantRepository(ds).customerSchema('nosuch')).toBeNull();
  });

  it('given a field declared by another process, then fieldsOf serves it within 5 s, never later; the declaring process at once', async () => {
    const server = new TenantRepository(ds, { now: () => clock.t });
    const cli = new TenantRepository(ds);
    await cli.ensureTenant('cached');
    clock.t = 0;
    expect(await server.fieldsOf('cached')).toEqual(new Map());
    clock.t = 1_000;
    await cli.changeCustomerSchema('cached', addFieldOnce('age'));
    expect(await cli.fieldsOf('cached')).toEqual(new Map([['age', 'number']]));
    clock.t = TENANT_CACHE_MAX_AGE_MS;
    expect(await server.fieldsOf('cached')).toEqual(new Map([['age', 'number']]));
  });

  it('then identifier types written keep their display name and messaging, and the identifier rules include them', async () => {
    const tenants = new TenantRepository(ds);
    await tenants.ensureTenant('typed');
    await tenants.changeCustomerSchema('typed', (state) => ({
      result: null,
      identifierTypes: [...state.identifierTypes, { type: 'fs_user_id', confidence: 'low' as const, perProfileLimit: null, displayName: 'FS User ID', messaging: false }],
    }));
    expect((await tenants.customerSchema('typed'))!.identifierTypes).toEqual([
      { type: 'fs_user_id', confidence: 'low', perProfileLimit: null, displayName: 'FS User ID', messaging: false },
    ]);
    expect((await tenants.identifierRules('typed')).get('fs_user_id')?.confidence).toBe('low');
  });
});
