import { Inject, Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { buildProfileChangeRecords, hashPassword, PROFILE_UPSERTS_TOPIC, type ProfileChangeFields, type ProfileChangeInput } from '@tessera/contracts';
import { EVENT_LOG, EventLog, type ProducedRecord } from '@tessera/event-log';
import { profileIdFor } from '@tessera/identity';
import { ComplianceService } from '@tessera/privacy';
import { ApiProblemException } from '@tessera/runtime';
import { ErasureRequestsRepository, TenantRepository } from '@tessera/store';
import { namesNothing, validateProfileChange } from './profile-write-validation';
import { ProfileWrites, type ProfileChangeCommand, type ProfileErasureResult, type ProfileFieldsInput, type ProfileWriteResult } from './profile-writes.port';

/**
 * The projector's consumer group (PROFILE_PROJECTOR_GROUP of @tessera/profile-projection, copied: the
 * API lib must not depend on the worker lib). Its checkpoint tells when a record has been applied.
 */
export const PROJECTOR_GROUP = 'tessera.profile-projector';

export interface ProfileWritesOptions {
  /** TESSERA_SYNC_WRITE_TIMEOUT_MS: how long a write waits for the projection before answering pending. */
  syncWriteTimeoutMs: number;
  /** How long to wait for the log to take the record (TESSERA_PRODUCE_TIMEOUT_MS). */
  produceTimeoutMs: number;
  /** Checkpoint polling interval. Default 25 ms. */
  pollMs?: number;
}
export const PROFILE_WRITES_OPTIONS = Symbol('PROFILE_WRITES_OPTIONS');

/** The erasure path of DESIGN §11 (ComplianceService.requestErasure), resolved from the app. */
export type ErasureRequester = (tenant: string, body: unknown) => Promise<string[]>;
export const ERASURE_REQUESTER = Symbol('ERASURE_REQUESTER');

interface OutcomeRow {
  state: 'applied' | 'conflict' | 'not-found';
  profile_id: string | null;
  owner_id: string | null;
  field: string | null;
  contact_id: string | null;
}

/**
 * Native profile writes (DESIGN §12): validate under the tenant's rules, hash a password, produce ONE
 * `profile-change.v1` record on the profile topic, then wait (read-your-writes) until the projector's
 * checkpoint passes it and answer the outcome row it wrote in the same transaction. Nothing here
 * touches a projection; the projector decides conflicts when it applies the record.
 */
@Injectable()
export class ProfileWritesService extends ProfileWrites {
  private readonly erasureRequests: ErasureRequestsRepository;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_LOG) private readonly eventLog: EventLog,
    private readonly tenants: TenantRepository,
    @Inject(PROFILE_WRITES_OPTIONS) private readonly options: ProfileWritesOptions,
    @Optional() private readonly moduleRef?: ModuleRef,
    @Optional() @Inject(ERASURE_REQUESTER) private erasureRequester?: ErasureRequester,
  ) {
    super();
    this.erasureRequests = new ErasureRequestsRepository(dataSource);
  }

  async submit(command: ProfileChangeCommand): Promise<ProfileWriteResult> {
    // Step 1: refuse what can never apply, before anything is produced.
    const rules = await this.tenants.identifierRules(command.tenant);
    const errors = validateProfileChange(command, rules);
    if (errors.length) return { state: 'invalid', errors };
    if (namesNothing(command)) return { state: 'not-found' };

    // Step 2: one record (the password only as its scrypt hash), produced like an ingest batch.
    const [record] = buildProfileChangeRecords(command.tenant, [await this.changeOf(command)], new Date(), rules);
    const { id, ...input } = record;
    const produced = await this.produce(input);

    // Step 3: read-your-writes — the outcome row commits with the checkpoint that passes the record.
    const profileId = command.op === 'create' ? profileIdFor(id) : command.profileId.toLowerCase();
    const outcome = await this.waitForOutcome(id, produced);
    if (outcome === 'pending') return { state: 'pending', recordId: id, profileId };
    return resultOf(outcome, command);
  }

  async erase(tenant: string, profileId: string): Promise<ProfileErasureResult> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(profileId)) return { state: 'not-found' };
    // A merged-away id leads to its survivor: the person is erased, as §11 erases whoever an identifier resolves to.
    const [live] = await this.erasureRequests.resolveProfiles(tenant, [{ type: 'zaius_id', value: profileId.toLowerCase() }]);
    if (!live) return { state: 'not-found' };
    const body = [{ requester: 'api.v1.profiles', identifier_field_name: 'zaius_id', identifier_value: live }];
    const [requestId] = await this.requestErasure()(tenant, body);
    // Read-your-writes as for every write: the projector sets applied_at in the transaction that erases.
    const applied = await this.waitUntil(async () => {
      const rows: Array<{ applied: boolean }> = await this.dataSource.query(`SELECT applied_at IS NOT NULL AS applied FROM erasure_requests WHERE id = $1`, [requestId]);
      return rows[0]?.applied === true;
    });
    return { state: applied ? 'erased' : 'pending', requestId, profileId: live };
  }

  /** ComplianceService of the app (single node, ingest), looked up lazily: its module is the app's, not ours. */
  private requestErasure(): ErasureRequester {
    if (this.erasureRequester) return this.erasureRequester;
    const compliance = this.moduleRef?.get(ComplianceService, { strict: false });
    if (!compliance) throw new Error('ProfileWritesService.erase needs the ComplianceModule in the app');
    this.erasureRequester = (tenant, body) => compliance.requestErasure(tenant, 'gdpr', body);
    return this.erasureRequester;
  }

  private async changeOf(command: ProfileChangeCommand): Promise<ProfileChangeInput> {
    switch (command.op) {
      case 'create':
        return { op: 'create', attributes: command.attributes, ...(await fieldsOf(command)) };
      case 'patch':
      case 'replace':
        return { op: command.op, profileId: command.profileId.toLowerCase(), attributes: command.attributes, ...(await fieldsOf(command)) };
      case 'link-contact':
        return { op: 'link-contact', profileId: command.profileId.toLowerCase(), contact: { ...command.contact } };
      case 'unlink-contact':
        return { op: 'unlink-contact', profileId: command.profileId.toLowerCase(), contactId: command.contactId };
      case 'replace-contact':
        return { op: 'replace-contact', profileId: command.profileId.toLowerCase(), contactId: command.contactId, contact: { ...command.contact } };
    }
  }

  /** Produces with a deadline; a log that cannot take the record in time is a 503 the client retries (as ingest). */
  private async produce(input: { key: string; partitionKey: string; value: string; headers: Record<string, string> }): Promise<ProducedRecord> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const [produced] = await Promise.race([
        this.eventLog.produce(PROFILE_UPSERTS_TOPIC, [input]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('log did not acknowledge in time')), this.options.produceTimeoutMs);
        }),
      ]);
      return produced;
    } catch {
      throw new ApiProblemException(503, undefined, { 'Retry-After': '5' });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * Polls for the outcome row (written in the transaction that moves the checkpoint past the record).
   * A checkpoint past the record without a row: the record reached nothing (redacted by an erasure,
   * dead-lettered) — not-found. Out of time: pending.
   */
  private async waitForOutcome(recordId: string, at: ProducedRecord): Promise<OutcomeRow | 'pending'> {
    let outcome: OutcomeRow | undefined;
    const settled = await this.waitUntil(async () => {
      const rows: Array<OutcomeRow & { passed: boolean }> = await this.dataSource.query(
        `SELECT o.state, o.profile_id, o.owner_id, o.field, o.contact_id,
                EXISTS (SELECT 1 FROM consumer_offsets c WHERE c.consumer_group = $2 AND c.topic = $3 AND c.partition = $4 AND c.next_offset > $5) AS passed
           FROM (SELECT 1) AS one LEFT JOIN profile_write_outcomes o ON o.record_id = $1`,
        [recordId, PROJECTOR_GROUP, at.topic, at.partition, at.offset],
      );
      const row = rows[0];
      if (row.state) outcome = row;
      else if (row.passed) outcome = { state: 'not-found', profile_id: null, owner_id: null, field: null, contact_id: null };
      return outcome !== undefined;
    });
    return settled ? outcome! : 'pending';
  }

  /** Polls `done` every pollMs until it holds (true) or TESSERA_SYNC_WRITE_TIMEOUT_MS runs out (false). */
  private async waitUntil(done: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + this.options.syncWriteTimeoutMs;
    const pollMs = this.options.pollMs ?? 25;
    for (;;) {
      if (await done()) return true;
      if (Date.now() + pollMs > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

async function fieldsOf(fields: ProfileFieldsInput): Promise<ProfileChangeFields> {
  const out: ProfileChangeFields = {};
  if (fields.status !== undefined) out.status = fields.status;
  if (fields.tags !== undefined) out.tags = [...fields.tags];
  if (fields.password !== undefined) out.passwordHash = await hashPassword(fields.password);
  if (fields.customer !== undefined) out.customer = fields.customer;
  if (fields.isPrimary !== undefined) out.isPrimary = fields.isPrimary;
  return out;
}

function resultOf(row: OutcomeRow, command: ProfileChangeCommand): ProfileWriteResult {
  switch (row.state) {
    case 'applied':
      return { state: 'applied', profileId: row.profile_id!, ...(row.contact_id !== null && { contactId: row.contact_id }) };
    case 'conflict': {
      const field = row.field ?? 'attributes';
      const owner = row.owner_id!;
      const self = command.op !== 'create' && owner === command.profileId.toLowerCase();
      const detail = self
        ? `${field} would give profile ${owner} a second value of an identifier it may hold only one of`
        : `${field} belongs to profile ${owner}`;
      return { state: 'conflict', field, ownerId: owner, detail };
    }
    default:
      return { state: 'not-found' };
  }
}
