import { extractIdentifiers, type IdentifierRules } from '@tessera/identity';

/**
 * Which stored records name an erased person, and what is left of them (DESIGN §11). Pure: no I/O.
 * Records are read by shape rather than by kind, so DLQ copies and kinds added later are covered:
 * `attributes` (profile-upsert.v1), `identifiers` (event.v1), `identifierType` + `identifierHash`
 * (consent.v1). Erasure records name hashes only and are kept.
 */

/** A keyed hash of one identifier: HMAC of tenant, type and normalised value (IdentifierHasher). */
export type HashIdentifier = (tenant: string, type: string, normalisedValue: string) => string;

/** Keyed hashes of erased identifiers, each with its cut-off: records received at or before it are the erased person's. */
export class ErasedIdentifiers {
  private readonly cutoffs = new Map<string, number>();
  private readonly tenantSet = new Set<string>();
  private readonly typesByTenant = new Map<string, Set<string>>();

  add(tenant: string, type: string, hash: string, cutoffMs: number): void {
    const key = erasedKey(tenant, type, hash);
    this.cutoffs.set(key, Math.max(this.cutoffs.get(key) ?? -Infinity, cutoffMs));
    this.tenantSet.add(tenant);
    let types = this.typesByTenant.get(tenant);
    if (!types) this.typesByTenant.set(tenant, (types = new Set()));
    types.add(type);
  }

  /** Identifier types with an erased hash in this tenant: only these need normalising and hashing. */
  types(tenant: string): ReadonlySet<string> {
    return this.typesByTenant.get(tenant) ?? new Set();
  }

  cutoff(tenant: string, type: string, hash: string): number | undefined {
    return this.cutoffs.get(erasedKey(tenant, type, hash));
  }

  tenants(): ReadonlySet<string> {
    return this.tenantSet;
  }

  get size(): number {
    return this.cutoffs.size;
  }
}

const erasedKey = (tenant: string, type: string, hash: string) => `${tenant}\u0001${type}\u0001${hash}`;

/** A record value as JSON, or undefined (not JSON, not an object). */
export function parseValue(value: Buffer | string): Record<string, unknown> | undefined {
  if (value.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The keyed hashes of every identifier a record value names, under the tenant's rules. */
export function identifierHashesOf(
  value: Record<string, unknown>,
  rules: IdentifierRules,
  hash: HashIdentifier,
  onlyTypes?: ReadonlySet<string>,
): Array<{ type: string; hash: string }> {
  const tenant = value.tenant;
  if (typeof tenant !== 'string') return [];
  const out: Array<{ type: string; hash: string }> = [];
  if (isObject(value.attributes)) {
    // Normalising (phones: libphonenumber) and hashing dominate a scan: only types that were erased.
    const attributes = onlyTypes ? pick(value.attributes, onlyTypes) : value.attributes;
    for (const ref of extractIdentifiers(attributes, rules).identifiers) out.push({ type: ref.type, hash: hash(tenant, ref.type, ref.value) });
  }
  if (isObject(value.identifiers)) {
    for (const [type, raw] of Object.entries(value.identifiers)) {
      if (!rules.get(type) || (onlyTypes && !onlyTypes.has(type))) continue;
      const normalised = rules.normalise(type, raw);
      if (normalised.ok) out.push({ type, hash: hash(tenant, type, normalised.value) });
    }
  }
  if (typeof value.identifierType === 'string') {
    if (typeof value.identifierHash === 'string') out.push({ type: value.identifierType, hash: value.identifierHash });
    if (value.identifierValue !== undefined && rules.get(value.identifierType)) {
      const normalised = rules.normalise(value.identifierType, value.identifierValue);
      if (normalised.ok) out.push({ type: value.identifierType, hash: hash(tenant, value.identifierType, normalised.value) });
    }
  }
  return out;
}

function pick(attributes: Record<string, unknown>, types: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(attributes)) if (types.has(field)) out[field] = attributes[field];
  return out;
}

/** Is this value already what erasure leaves, or a record that holds no values (an erasure)? */
export function needsNoRedaction(value: Record<string, unknown>): boolean {
  return value.redacted === true || value.source === 'api.v3.compliance' || typeof value.requestId === 'string';
}

/**
 * Does the record belong to an erased person: it names an erased identifier and was received at or
 * before that identifier's cut-off (a record received later belongs to a new person)?
 */
export function namesErasedPerson(value: Record<string, unknown>, erased: ErasedIdentifiers, rules: IdentifierRules, hash: HashIdentifier): boolean {
  const tenant = value.tenant;
  if (typeof tenant !== 'string' || !erased.tenants().has(tenant) || needsNoRedaction(value)) return false;
  const receivedAt = typeof value.receivedAt === 'string' ? Date.parse(value.receivedAt) : NaN;
  for (const ref of identifierHashesOf(value, rules, hash, erased.types(tenant))) {
    const cutoff = erased.cutoff(tenant, ref.type, ref.hash);
    // No readable receipt time: when in doubt, the record goes.
    if (cutoff !== undefined && (!Number.isFinite(receivedAt) || receivedAt <= cutoff)) return true;
  }
  return false;
}

const ENVELOPE = ['id', 'tenant', 'receivedAt', 'ts', 'source'] as const;
/** consent.v1 keeps what an opt-out needs, by hash only (DESIGN §11). */
const CONSENT_KEPT = ['identifierType', 'identifierHash', 'consent', 'reason', 'updateTs'] as const;

/**
 * What erasure leaves of a record: its envelope and `"redacted": true` (offsets and ids stay, replay
 * skips it); a consent keeps its hash, decision, reason and time so an opt-out still holds.
 */
export function redactedValue(value: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const field of ENVELOPE) if (value[field] !== undefined) out[field] = value[field];
  if (typeof value.identifierHash === 'string') for (const field of CONSENT_KEPT) if (value[field] !== undefined) out[field] = value[field];
  out.redacted = true;
  return JSON.stringify(out);
}

/** The redacted form of a record that is not JSON (a DLQ copy of a malformed body): nothing of it is kept but its key (a record id). */
export function redactedUnreadable(key: string | null): string {
  return JSON.stringify({ id: key ?? '', tenant: '', redacted: true });
}
