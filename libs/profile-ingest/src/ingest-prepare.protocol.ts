import { IdentifierRules, type CustomIdentifierType } from '@tessera/identity';
import type { DeclaredFieldTypes } from '@tessera/contracts';
import type { IngestLogRecord, IngestRefusal } from './ingest-kinds';

/** Identifier rules as a worker rebuilds them: the custom types in rank order and the phone region. */
export interface RulesSpec {
  key: string;
  custom: CustomIdentifierType[];
  region: string;
}

export interface PrepareRequest {
  id: number;
  kind: string;
  tenant: string;
  body: unknown;
  rules: RulesSpec;
  fields: DeclaredFieldTypes;
  /** Epoch ms of IngestContext.receivedAt. */
  receivedAt: number;
}

/** Records as flat arrays (strings clone cheaply, objects do not); headers listed once, `headerOf` per record. */
export type PrepareReply =
  | { id: number; ok: true; keys: string[]; partitionKeys: string[]; values: string[]; headers: Array<Record<string, string>>; headerOf: number[] }
  | { id: number; ok: false; detail: IngestRefusal }
  | { id: number; error: string };

const DEFAULT_TYPES = new Set(IdentifierRules.defaults().types().map((t) => t.type));
const SPECS = new WeakMap<IdentifierRules, RulesSpec>();

/** The spec of a rules instance (tenants' rules are cached instances, so this is too). */
export function rulesSpecOf(rules: IdentifierRules): RulesSpec {
  let spec = SPECS.get(rules);
  if (spec === undefined) {
    const custom = rules
      .types()
      .filter((t) => !DEFAULT_TYPES.has(t.type))
      .map((t) => ({ type: t.type, confidence: t.confidence as CustomIdentifierType['confidence'], perProfileLimit: t.perProfileLimit }));
    spec = { key: JSON.stringify([custom, rules.defaultRegion]), custom, region: rules.defaultRegion };
    SPECS.set(rules, spec);
  }
  return spec;
}

/** The rules a spec describes: built as TenantRepository builds a tenant's. */
export function rulesOf(spec: RulesSpec): IdentifierRules {
  return IdentifierRules.forTenant(spec.custom, spec.region);
}

/** The reply of prepared records: flat arrays, equal headers listed once. */
export function flatRecords(id: number, records: IngestLogRecord[]): PrepareReply {
  const keys = new Array<string>(records.length);
  const partitionKeys = new Array<string>(records.length);
  const values = new Array<string>(records.length);
  const headerOf = new Array<number>(records.length);
  const headers: Array<Record<string, string>> = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    keys[i] = r.key;
    partitionKeys[i] = r.partitionKey;
    values[i] = r.value;
    const h = JSON.stringify(r.headers);
    let at = seen.get(h);
    if (at === undefined) {
      seen.set(h, (at = headers.length));
      headers.push(r.headers);
    }
    headerOf[i] = at;
  }
  return { id, ok: true, keys, partitionKeys, values, headers, headerOf };
}
