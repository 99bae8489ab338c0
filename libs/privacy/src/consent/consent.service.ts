import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { buildConsentRecords, validateConsentBody } from '@tessera/contracts';
import { ProfileIngestService, type IngestKind } from '@tessera/profile-ingest';
import { restoreUnencodedPlus } from '@tessera/profile-query/unencoded-plus';
import { ApiProblemException, TenantRateLimiter } from '@tessera/runtime';
import { IdentifierHasher, TenantRepository } from '@tessera/store';
import { findConsent } from '@tessera/store/consents/consents.repository';

export type ConsentRoutes = 'all' | 'write' | 'read';
export const CONSENT_ROUTES = Symbol('CONSENT_ROUTES');

/** GET /v3/consent/{identifier_field_name}?id= (DESIGN §11). Unknown consent: `consent`, reason and ts are null. */
export interface ConsentView {
  identifier_field_name: string;
  identifier_value: string;
  consent: boolean | null;
  consent_update_reason: string | null;
  /** Epoch seconds, as POST takes it. */
  consent_update_ts: number | null;
}

/**
 * Consent per identifier (DESIGN §11). POST publishes `consent.v1` records through the ingest lib's
 * one publishing path (draining, rate limit, produce with a deadline, 503) — nothing here writes the
 * consents table; the projector applies the records in log order. GET reads that table by the
 * identifier's keyed hash.
 */
@Injectable()
export class ConsentService implements OnModuleInit {
  private hasher?: Promise<IdentifierHasher>;
  private ingest?: ProfileIngestService;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
    private readonly moduleRef: ModuleRef,
    @Inject(CONSENT_ROUTES) private readonly routes: ConsentRoutes,
  ) {}

  /** The app's IngestModule instance (importing IngestModule.register here would declare its routes twice). */
  onModuleInit(): void {
    if (this.routes !== 'read') this.ingest = this.moduleRef.get(ProfileIngestService, { strict: false });
  }

  /** POST /v3/consent: all-or-nothing; resolves once the log stored every record. */
  async accept(tenant: string, body: unknown): Promise<number> {
    const hasher = await this.identifierHasher();
    const consent: IngestKind = {
      name: 'consent',
      prepare(t, b, { rules, receivedAt }) {
        const result = validateConsentBody(b, rules, { receivedAt });
        if (!result.ok) return { ok: false, detail: 'invalids' in result ? { invalids: result.invalids } : { message: result.bodyError } };
        return { ok: true, records: buildConsentRecords(t, result.items, receivedAt, hasher) };
      },
    };
    return this.ingest!.publish(tenant, body, consent);
  }

  /** GET /v3/consent/{type}?id=<value>: the value normalised as on ingest, looked up by its keyed hash. */
  async find(tenant: string, type: string, query: Record<string, unknown>, url: string): Promise<ConsentView> {
    await this.rateLimiter.take(tenant, 1);
    const rules = await this.tenants.identifierRules(tenant);
    const known = rules.types().map((t) => t.type).join(', ');
    if (!rules.isIdentifier(type)) throw bad(`\`${type.slice(0, 64)}\` is not an identifier type (${known})`);
    const extra = Object.keys(query).filter((name) => name !== 'id');
    if (extra.length) throw bad(`\`${extra[0].slice(0, 64)}\` is not a parameter of this route; send ?id=<value>`);
    const id = query.id;
    if (id === undefined) throw bad('query parameter `id` is required: ?id=<identifier value>');
    if (typeof id !== 'string') throw bad('query parameter `id` must be given once');
    if (id.trim() === '') throw bad('query parameter `id` must not be empty');
    if (id.includes('\u0000')) throw bad('query parameter `id` must not contain the NUL character (U+0000)');
    // Phones only: a literal `+` in the URL reads as a space; the client meant the `+`.
    const raw = type === 'phone' ? restoreUnencodedPlus(url, 'id', id) : id;
    const normalised = rules.normalise(type, raw);
    if (!normalised.ok && !normalised.blocked) throw bad(`query parameter \`id\` ${normalised.reason}`);
    const value = normalised.ok ? normalised.value : raw.trim();
    // A placeholder value ("null", "guest", …) can never hold consent: unknown, like any value never given one.
    const stored = normalised.ok ? await findConsent(this.dataSource, tenant, type, (await this.identifierHasher()).hash(tenant, type, value)) : null;
    return {
      identifier_field_name: type,
      identifier_value: value,
      consent: stored?.consent ?? null,
      consent_update_reason: stored?.reason ?? null,
      consent_update_ts: stored ? Math.floor(stored.updateTs.getTime() / 1000) : null,
    };
  }

  /** Loaded once per process (the secret never changes); a failed load (database away) is retried next time. */
  private identifierHasher(): Promise<IdentifierHasher> {
    this.hasher ??= IdentifierHasher.load(this.dataSource).catch((error) => {
      this.hasher = undefined;
      throw error;
    });
    return this.hasher;
  }
}

function bad(message: string): ApiProblemException {
  return new ApiProblemException(400, { message });
}
