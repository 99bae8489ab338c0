import { DataSource, EntityManager } from 'typeorm';

/** How the stored projections relate to the rules this process applies. */
export type ProjectionRulesState =
  | { kind: 'current'; version: number }
  /** Built under other rules: `stored` is undefined when they predate versioning (profiles, no row). */
  | { kind: 'outdated'; stored: number | undefined; current: number };

type Queryable = Pick<DataSource | EntityManager, 'query'>;

/** The one-row `projection_rules` table: the rules version the profile projections were built under. */
export class ProjectionRulesRepository {
  constructor(private readonly db: Queryable) {}

  async storedVersion(): Promise<number | undefined> {
    const rows: { version: number }[] = await this.db.query('SELECT version FROM projection_rules WHERE id = 1');
    return rows[0]?.version;
  }

  /** Stamps the projections as built under `version` (a replay, or an empty store). */
  async write(version: number, db: Queryable = this.db): Promise<void> {
    await db.query(
      `INSERT INTO projection_rules (id, version, built_at) VALUES (1, $1, now())
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, built_at = EXCLUDED.built_at`,
      [version],
    );
  }

  /**
   * Compares the stored version with `current`. An empty store without a row is stamped `current`
   * (nothing built yet, so nothing to rebuild); racing starters agree through ON CONFLICT DO NOTHING.
   */
  async check(current: number): Promise<ProjectionRulesState> {
    const stored = await this.storedVersion();
    if (stored === current) return { kind: 'current', version: current };
    if (stored !== undefined) return { kind: 'outdated', stored, current };
    const [{ any }]: { any: boolean }[] = await this.db.query('SELECT EXISTS (SELECT 1 FROM profiles) AS any');
    if (any) return { kind: 'outdated', stored: undefined, current };
    await this.db.query('INSERT INTO projection_rules (id, version) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [current]);
    const now = await this.storedVersion();
    return now === current ? { kind: 'current', version: current } : { kind: 'outdated', stored: now, current };
  }
}

/** The operator-facing sentence for an outdated state (logged once at start, and the readiness reason). */
export function describeOutdatedRules(state: Extract<ProjectionRulesState, { kind: 'outdated' }>): string {
  const built = state.stored === undefined ? 'identity rules older than versioning' : `identity rules v${state.stored}`;
  return (
    `the profile projections were built under ${built}; this version applies v${state.current}, ` +
    `so old and new identities would mix: stop the worker (or server) and run \`npm run tessera -- replay\``
  );
}
