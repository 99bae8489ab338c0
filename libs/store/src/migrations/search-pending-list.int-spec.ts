import { createProjectionFixture, ProjectionFixture } from '@tessera/testing/projection-fixture';

let fx: ProjectionFixture;
beforeAll(async () => { fx = await createProjectionFixture(1); });
afterAll(async () => { await fx.close(); });

describe('migration 1400: the search GIN pending list', () => {
  it('given migrated tables, then the search GIN flushes its pending list at 256 kB (not the 4 MB default that stalled a projector batch)', async () => {
    const rows: Array<{ reloptions: string[] | null }> = await fx.dataSource.query(`SELECT reloptions FROM pg_class WHERE relname = 'profiles_search_attributes'`);
    expect(rows[0]?.reloptions).toEqual(['gin_pending_list_limit=256']);
  });

  it('given a table created LIKE profiles INCLUDING ALL (the bench ceiling D), then its GIN carries the same setting', async () => {
    await fx.dataSource.query(`CREATE TEMP TABLE like_profiles (LIKE profiles INCLUDING ALL)`);
    const rows: Array<{ def: string }> = await fx.dataSource.query(
      `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'like_profiles'::regclass AND pg_get_indexdef(indexrelid) LIKE '%gin%'`,
    );
    expect(rows.map((r) => r.def).join()).toContain(`gin_pending_list_limit='256'`);
  });
});
