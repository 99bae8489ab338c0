import { parseKeyCreation, parseTenantCreation, parseTenantPatch, TenantAdminError } from './tenant-admin.rules';

function refusal(work: () => unknown): { status: number; detail: string; errors?: Array<{ field: string; message: string }> } {
  try {
    work();
  } catch (error) {
    if (error instanceof TenantAdminError) return { status: error.status, detail: error.detail, errors: error.errors };
    throw error;
  }
  throw new Error('not refused');
}

describe('parseTenantCreation (POST /api/v1/tenants)', () => {
  it('given a seed 004 name, then it is the tenant name and, by default, its display name', () => {
    expect(parseTenantCreation({ name: 'acme2' })).toEqual({ name: 'acme2', displayName: 'acme2' });
    expect(parseTenantCreation({ name: 'acme', display_name: 'Acme Inc' })).toEqual({ name: 'acme', displayName: 'Acme Inc' });
  });

  it.each(['Acme', '1acme', 'a', 'ac-me', 'ac_me', '', ' acme', `a${'b'.repeat(63)}`])('given the name %j, then 400 naming `name`', (name) => {
    const r = refusal(() => parseTenantCreation({ name }));
    expect(r.status).toBe(400);
    expect(r.detail).toContain('`name`');
  });

  it('given the CLI (legacy names), then `_` and `-` are allowed, upper case still not', () => {
    expect(parseTenantCreation({ name: 'idem-other' }, { legacyNames: true }).name).toBe('idem-other');
    expect(refusal(() => parseTenantCreation({ name: 'Idem' }, { legacyNames: true })).status).toBe(400);
  });

  it('given no name, a non-string name, an unknown field or a non-object body, then 422 naming each field', () => {
    expect(refusal(() => parseTenantCreation({})).errors).toEqual([{ field: 'name', message: expect.any(String) }]);
    expect(refusal(() => parseTenantCreation({ name: 7 })).status).toBe(422);
    expect(refusal(() => parseTenantCreation({ name: 'acme', plan: 'gold', region: 'x' })).errors?.map((e) => e.field)).toEqual(['plan', 'region']);
    expect(refusal(() => parseTenantCreation([{ name: 'acme' }])).errors).toEqual([{ field: 'body', message: expect.any(String) }]);
    expect(refusal(() => parseTenantCreation(undefined)).status).toBe(422);
  });
});

describe('parseTenantPatch (PATCH /api/v1/tenants/{tenant})', () => {
  it('given a region in any case, then it is stored upper case; null clears it', () => {
    expect(parseTenantPatch({ default_region: 'gb' })).toEqual({ defaultRegion: 'GB' });
    expect(parseTenantPatch({ default_region: null })).toEqual({ defaultRegion: null });
  });

  it('given a rate limit, then burst defaults to the rate; null clears it; {} changes nothing', () => {
    expect(parseTenantPatch({ rate_limit: { items_per_second: 5 } })).toEqual({ rateLimit: { itemsPerSecond: 5, burst: 5 } });
    expect(parseTenantPatch({ rate_limit: { items_per_second: 5, burst: 20 } })).toEqual({ rateLimit: { itemsPerSecond: 5, burst: 20 } });
    expect(parseTenantPatch({ rate_limit: null })).toEqual({ rateLimit: null });
    expect(parseTenantPatch({})).toEqual({});
  });

  it('given bad values, then 422 naming each field', () => {
    const r = refusal(() => parseTenantPatch({ default_region: 'ZZ', rate_limit: { items_per_second: 0, burst: 'x', per: 1 }, name: 'x' }));
    expect(r.status).toBe(422);
    expect(r.errors?.map((e) => e.field)).toEqual(['name']);
    const values = refusal(() => parseTenantPatch({ default_region: 'ZZ', rate_limit: { items_per_second: 0, burst: 'x', per: 1 } }));
    expect(values.errors?.map((e) => e.field).sort()).toEqual(['default_region', 'rate_limit.burst', 'rate_limit.items_per_second', 'rate_limit.per']);
    expect(values.errors?.find((e) => e.field === 'default_region')?.message).toMatch(/'ZZ' is not an ISO 3166-1 alpha-2 country code/);
    expect(refusal(() => parseTenantPatch({ default_region: 44 })).errors?.[0].field).toBe('default_region');
  });
});

describe('parseKeyCreation (POST /api/v1/tenants/{tenant}/keys)', () => {
  it('given a kind and restrictions, then they are kept (duplicates once); absent or [] restrictions = unrestricted', () => {
    expect(parseKeyCreation({ kind: 'read', restrictions: ['DE', 'FR', 'DE'] })).toEqual({ kind: 'read', restrictions: ['DE', 'FR'], label: null });
    expect(parseKeyCreation({ kind: 'private' })).toEqual({ kind: 'private', restrictions: null, label: null });
    expect(parseKeyCreation({ kind: 'public', restrictions: [], label: 'shop' })).toEqual({ kind: 'public', restrictions: null, label: 'shop' });
  });

  it('given a bad kind, bad restrictions or an unknown field, then 422 naming each', () => {
    const r = refusal(() => parseKeyCreation({ kind: 'admin', restrictions: ['DE', 3, ''] }));
    expect(r.errors?.map((e) => e.field)).toEqual(['kind', 'restrictions[1]', 'restrictions[2]']);
    expect(refusal(() => parseKeyCreation({ kind: 'read', restrictions: 'DE' })).errors?.[0].field).toBe('restrictions');
    expect(refusal(() => parseKeyCreation({ kind: 'read', scopes: ['x'] })).errors?.[0].field).toBe('scopes');
    expect(refusal(() => parseKeyCreation({ kind: 'read', restrictions: Array.from({ length: 101 }, (_, i) => `r${i}`) })).errors?.[0].field).toBe('restrictions');
  });
});
