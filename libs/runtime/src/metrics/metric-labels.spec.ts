import { countRecordKinds, ingestRouteLabel, partitionLag, readOperationOf, recordKindLabel, routeLabel, UNMATCHED_ROUTE } from './metric-labels';

describe('recordKindLabel', () => {
  it('given each projected schema header, then its short kind; no header is an upsert (records from before the header)', () => {
    expect(['profile-upsert.v1', 'event.v1', 'consent.v1', 'erasure.v1', 'profile-change.v1', undefined].map((s) => recordKindLabel(s, 10))).toEqual([
      'upsert',
      'event',
      'consent',
      'erasure',
      'profile-change',
      'upsert',
    ]);
  });

  it('given an empty value (a Kafka tombstone), then tombstone whatever the header', () => {
    expect(recordKindLabel('event.v1', 0)).toBe('tombstone');
  });

  it('given a schema this version does not name, then other (the label set stays bounded)', () => {
    expect(recordKindLabel('profile-upsert.v9', 3)).toBe('other');
    expect(recordKindLabel('x'.repeat(500), 3)).toBe('other');
  });
});

describe('countRecordKinds', () => {
  it('given a mixed batch, then one count per kind', () => {
    const r = (schema: string | undefined, value = '{}') => ({ headers: (schema ? { schema } : {}) as Record<string, string>, value: Buffer.from(value) });
    const counts = countRecordKinds([r('event.v1'), r(undefined), r('profile-upsert.v1'), r('event.v1'), r('erasure.v1', '')]);
    expect(Object.fromEntries(counts)).toEqual({ event: 2, upsert: 2, tombstone: 1 });
  });
});

describe('readOperationOf', () => {
  it('given the look-up, listing and get routes, then lookup, search and get; other routes are not reads', () => {
    expect(readOperationOf('GET', '/v3/profiles')).toBe('lookup');
    expect(readOperationOf('GET', '/api/v1/profiles')).toBe('search');
    expect(readOperationOf('GET', '/api/v1/profiles/:id')).toBe('get');
    expect(readOperationOf('POST', '/v3/profiles')).toBeUndefined();
    expect(readOperationOf('GET', '/health/live')).toBeUndefined();
  });
});

describe('routeLabel', () => {
  it('given a matched template, then the template; given none (404), then one unmatched value, never the URL', () => {
    expect(routeLabel('/api/v1/profiles/:id')).toBe('/api/v1/profiles/:id');
    expect(routeLabel(undefined)).toBe(UNMATCHED_ROUTE);
    expect(routeLabel('')).toBe(UNMATCHED_ROUTE);
  });
});

describe('ingestRouteLabel', () => {
  it('given the publishing path kind names, then their route templates, else other', () => {
    expect(['profiles', 'events', 'consent', 'compliance.gdpr', 'compliance.ccpa', 'mystery'].map(ingestRouteLabel)).toEqual([
      '/v3/profiles',
      '/v3/events',
      '/v3/consent',
      '/v3/compliance/:regulation/delete',
      '/v3/compliance/:regulation/delete',
      'other',
    ]);
  });
});

describe('partitionLag', () => {
  it('given end offsets and checkpoints, then end − checkpoint per partition; no checkpoint lags by the whole partition; never negative', () => {
    const ends = [
      { partition: 0, offset: 10 },
      { partition: 1, offset: 7 },
      { partition: 2, offset: 3 },
    ];
    expect(partitionLag(ends, new Map([[0, 4], [2, 5]]))).toEqual([
      { partition: 0, end: 10, checkpoint: 4, lag: 6 },
      { partition: 1, end: 7, checkpoint: 0, lag: 7 },
      { partition: 2, end: 3, checkpoint: 5, lag: 0 },
    ]);
  });
});
