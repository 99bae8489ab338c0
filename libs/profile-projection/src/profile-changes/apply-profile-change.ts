import { contactIdOf, SYSTEM_ATTRIBUTE, isSystemAttributeName, DEFAULT_PROFILE_STATUS, type ContactInput, type ProfileChangeFields, type ProfileChangeRecord } from '@tessera/contracts';
import { extractIdentifiers, profileIdFor, ZAIUS_ID, type Attributes, type IdentifierRef, type IdentifierRules, type IdentityGraph, type ProfileUpsert } from '@tessera/identity';

/** What the waiting handler answers for one profile-change record (DESIGN §12). */
export interface ProfileChangeOutcome {
  state: 'applied' | 'conflict' | 'not-found';
  /** applied: the live profile holding the change; otherwise the profile named, if any. */
  profileId: string | null;
  /** conflict: the profile that owns the identifier (may be the profile itself: a per-profile limit). */
  ownerId: string | null;
  /** conflict: the request field naming the identifier (`attributes.email`, `value`). */
  field: string | null;
  /** applied contact ops: the contact linked (unlink: the one removed). */
  contactId: string | null;
}

export interface AppliedChange {
  outcome: ProfileChangeOutcome;
  warnings: string[];
}

const notFound = (profileId: string | null): AppliedChange => ({ outcome: { state: 'not-found', profileId, ownerId: null, field: null, contactId: null }, warnings: [] });
const conflict = (profileId: string | null, ownerId: string, field: string): AppliedChange => ({
  outcome: { state: 'conflict', profileId, ownerId, field, contactId: null },
  warnings: [],
});
const applied = (profileId: string, warnings: string[], contactId: string | null = null): AppliedChange => ({
  outcome: { state: 'applied', profileId, ownerId: null, field: null, contactId },
  warnings,
});

/** The `$`-attributes a change writes: on create/replace status and tags take their defaults, the rest only when given. */
function systemAttributes(fields: ProfileChangeFields, withDefaults: boolean): Attributes {
  const out: Attributes = {};
  if (fields.status !== undefined || withDefaults) out[SYSTEM_ATTRIBUTE.status] = fields.status ?? DEFAULT_PROFILE_STATUS;
  if (fields.tags !== undefined || withDefaults) out[SYSTEM_ATTRIBUTE.tags] = [...(fields.tags ?? [])];
  if (fields.passwordHash !== undefined) out[SYSTEM_ATTRIBUTE.passwordHash] = fields.passwordHash;
  if (fields.customer !== undefined) out[SYSTEM_ATTRIBUTE.customer] = fields.customer;
  if (fields.isPrimary !== undefined) out[SYSTEM_ATTRIBUTE.isPrimary] = fields.isPrimary;
  return out;
}

function withoutZaiusId(attributes: Attributes): Attributes {
  const { [ZAIUS_ID]: _ignored, ...rest } = attributes;
  return rest;
}

/**
 * Applies one native write to the tenant's in-memory graph, in log order with upserts (DESIGN §12).
 * Decided here, at apply time, so a replay decides the same: an identifier that belongs to another live
 * profile, or one beyond a per-profile limit, is a conflict and nothing changes (no implicit merge); a
 * profile that does not exist (or was erased) is not-found. Pure: no I/O.
 */
export class ProfileChangeApplier {
  constructor(
    private readonly graph: IdentityGraph,
    private readonly rules: IdentifierRules,
  ) {}

  apply(record: ProfileChangeRecord, ts: number): AppliedChange {
    switch (record.op) {
      case 'create':
        return this.create(record, ts);
      case 'patch':
      case 'replace':
        return this.update(record, ts);
      case 'link-contact':
        return this.linkContact(record.profileId, record.id, ts, record.tenant, record.contact, undefined);
      case 'unlink-contact':
        return this.unlinkContact(record.profileId, record.id, ts, record.tenant, record.contactId);
      case 'replace-contact':
        return this.linkContact(record.profileId, record.id, ts, record.tenant, record.contact, record.contactId);
    }
  }

  /** A new profile with id profileIdFor(record id), unless one of its identifiers belongs to a live profile. */
  private create(record: Extract<ProfileChangeRecord, { op: 'create' }>, ts: number): AppliedChange {
    const id = profileIdFor(record.id);
    const mine = this.graph.profile(id);
    if (mine !== undefined) return applied(mine.mergedInto ?? id, []); // the same record again: already applied
    const attributes = withoutZaiusId(record.attributes);
    for (const ref of this.identifiersOf(attributes)) {
      const owner = this.graph.ownerIdOf(ref);
      if (owner !== undefined) return conflict(null, owner, `attributes.${ref.type}`);
    }
    const out = this.graph.apply(this.upsert(record.id, ts, { ...attributes, ...systemAttributes(record, true) }));
    return applied(out.profileId ?? id, out.warnings);
  }

  /** Patch merges like an upsert; replace first clears what it leaves out (identifier rows stay). */
  private update(record: Extract<ProfileChangeRecord, { op: 'patch' | 'replace' }>, ts: number): AppliedChange {
    const target = this.liveProfile(record.profileId);
    if (target === undefined) return notFound(record.profileId);
    const attributes = withoutZaiusId(record.attributes);
    const blocked = this.clash(target, this.identifiersOf(attributes), (type) => `attributes.${type}`);
    if (blocked) return blocked;
    if (record.op === 'replace') {
      const current = this.graph.profile(target)!.attributes;
      const leftOut = Object.keys(current).filter((name) => !isSystemAttributeName(name) && !Object.hasOwn(attributes, name));
      this.graph.clearAttributes(target, leftOut, { recordId: record.id, ts });
    }
    const system = systemAttributes(record, record.op === 'replace');
    const out = this.graph.apply(this.upsert(record.id, ts, { ...attributes, ...system, [ZAIUS_ID]: target }));
    return applied(out.profileId ?? target, out.warnings);
  }

  /** Links a contact (replace-contact: after unlinking `replacing`), unless another profile holds it or a limit forbids it. */
  private linkContact(profileId: string, recordId: string, ts: number, tenant: string, contact: ContactInput, replacing: string | undefined): AppliedChange {
    const target = this.liveProfile(profileId);
    if (target === undefined) return notFound(profileId);
    const old = replacing === undefined ? undefined : this.contactOf(target, tenant, replacing);
    if (replacing !== undefined && old === undefined) return notFound(target);
    const normalised = contact.type === ZAIUS_ID ? undefined : this.rules.isIdentifier(contact.type) ? this.rules.normalise(contact.type, contact.value) : undefined;
    // Validated before it was produced; rules changed since (a replay under new rules): nothing to link.
    if (normalised === undefined || !normalised.ok) return { ...notFound(target), warnings: [`${contact.type} contact not linked: not a valid identifier under the current rules`] };
    const ref: IdentifierRef = { type: contact.type, value: normalised.value };
    const contactId = contactIdOf(tenant, ref.type, ref.value);
    if (old !== undefined && old.type === ref.type && old.value === ref.value) return applied(target, [], contactId);
    const blocked = this.clash(target, [ref], () => 'value', old);
    if (blocked) return blocked;
    if (old !== undefined) this.graph.unlink(old, target, { recordId, ts });
    const out = this.graph.apply(this.upsert(recordId, ts, { [ZAIUS_ID]: target, [contact.type]: contact.value }));
    return applied(out.profileId ?? target, out.warnings, contactId);
  }

  private unlinkContact(profileId: string, recordId: string, ts: number, tenant: string, contactId: string): AppliedChange {
    const target = this.liveProfile(profileId);
    if (target === undefined) return notFound(profileId);
    const ref = this.contactOf(target, tenant, contactId);
    if (ref === undefined) return notFound(target);
    this.graph.unlink(ref, target, { recordId, ts });
    return applied(target, [], contactId);
  }

  /**
   * The first identifier that may not join `target`: owned by another live profile, or a new value of a
   * type whose per-profile limit `target` has reached (`freed`: a row about to be unlinked does not count).
   */
  private clash(target: string, refs: IdentifierRef[], field: (type: string) => string, freed?: IdentifierRef): AppliedChange | undefined {
    for (const ref of refs) {
      const owner = this.graph.ownerIdOf(ref);
      if (owner !== undefined) {
        if (owner !== target) return conflict(target, owner, field(ref.type));
        continue;
      }
      const limit = this.rules.get(ref.type)?.perProfileLimit ?? null;
      if (limit === null) continue;
      const held = this.graph.identifiersOf(target).filter((l) => l.type === ref.type && !(freed && freed.type === l.type && freed.value === l.value)).length;
      if (held >= limit) return conflict(target, target, field(ref.type));
    }
    return undefined;
  }

  /** Non-zaius identifiers of attributes, normalised (values that do not normalise are left to `apply`'s warnings). */
  private identifiersOf(attributes: Attributes): IdentifierRef[] {
    return extractIdentifiers(attributes, this.rules).identifiers.filter((r) => r.type !== ZAIUS_ID);
  }

  private liveProfile(profileId: string): string | undefined {
    return this.graph.ownerIdOf({ type: ZAIUS_ID, value: profileId });
  }

  private contactOf(target: string, tenant: string, contactId: string): IdentifierRef | undefined {
    const link = this.graph.identifiersOf(target).find((l) => l.type !== ZAIUS_ID && contactIdOf(tenant, l.type, l.value) === contactId);
    return link && { type: link.type, value: link.value };
  }

  private upsert(recordId: string, ts: number, attributes: Attributes): ProfileUpsert {
    return { recordId, ts, attributes };
  }
}

/**
 * What the graph must pre-load for a change (see preloadKeys): it is handed over as an upsert-shaped
 * input — its identifiers, the contact, and the profile it names as a zaius_id; a create's own id
 * (profileIdFor(record id)) is added by preloadKeys itself.
 */
export function preloadInputOf(record: ProfileChangeRecord, ts: number): ProfileUpsert {
  const attributes: Attributes = 'attributes' in record ? withoutZaiusId(record.attributes) : {};
  if ('contact' in record && record.contact.type !== ZAIUS_ID) attributes[record.contact.type] = record.contact.value;
  if ('profileId' in record) attributes[ZAIUS_ID] = record.profileId;
  return { recordId: record.id, ts, attributes };
}
