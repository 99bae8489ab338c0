import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { buildErasureRecords, uuidv7, validateErasureRequestBody, type Regulation } from '@tessera/contracts';
import { ProfileIngestService, type IngestKind } from '@tessera/profile-ingest';
import { ApiProblemException, LOGGER, TesseraLogger } from '@tessera/runtime';
import { ErasureRequestsRepository, ErasureStatus, IdentifierHasher, TenantRepository } from '@tessera/store';

/**
 * Deletion requests (DESIGN §11): each requested identifier becomes a status row and an `erasure.v1`
 * record on the one profile topic, applied by the projector in log order. Nothing here touches a
 * projection. The row is written first so the status answers at once; if the log does not take the
 * records the rows go again (the client got 503 and retries), unless one was applied meanwhile.
 */
@Injectable()
export class ComplianceService implements OnModuleInit {
  private readonly requests: ErasureRequestsRepository;
  private hasher?: Promise<IdentifierHasher>;
  private ingest!: ProfileIngestService;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantRepository,
    private readonly moduleRef: ModuleRef,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
  ) {
    this.requests = new ErasureRequestsRepository(dataSource);
  }

  /** The app's IngestModule instance (importing IngestModule.register here would declare its routes twice). */
  onModuleInit(): void {
    this.ingest = this.moduleRef.get(ProfileIngestService, { strict: false });
  }

  async requestErasure(tenant: string, regulation: Regulation, body: unknown): Promise<string[]> {
    // Step 1: validate under the tenant's identifier rules (custom types included); all-or-nothing.
    const rules = await this.tenants.identifierRules(tenant);
    const validation = validateErasureRequestBody(body, rules);
    if (!validation.ok) throw new ApiProblemException(400, 'invalids' in validation ? { invalids: validation.invalids } : { message: validation.bodyError });

    // Step 2: keyed hashes (never the value past this point) and the profile each identifier resolves to now.
    const hasher = await this.identifierHasher();
    const hints = await this.requests.resolveProfiles(tenant, validation.items.map((i) => ({ type: i.identifierType, value: i.identifierValue })));
    const receivedAt = new Date();
    const items = validation.items.map((item, i) => ({
      requestId: uuidv7(),
      requester: item.requester,
      identifierType: item.identifierType,
      identifierValue: item.identifierValue,
      identifierHash: hasher.hash(tenant, item.identifierType, item.identifierValue),
      profileId: hints[i],
    }));
    const records = buildErasureRecords(tenant, regulation, items, receivedAt);

    // Step 3: status rows first, so GET …/status answers IN_PROGRESS as soon as the client has the ids.
    await this.requests.insert(
      items.map((item, i) => ({
        id: item.requestId,
        tenant,
        regulation,
        requester: item.requester,
        identifierType: item.identifierType,
        identifierHash: item.identifierHash,
        recordId: JSON.parse(records[i].value).id as string,
        requestedAt: receivedAt,
      })),
    );

    // Step 4: the ingest lib's one publishing path (draining, rate limit, produce with a deadline, 503).
    const prepared: IngestKind = { name: `compliance.${regulation}`, prepare: () => ({ ok: true, records }) };
    const ids = items.map((i) => i.requestId);
    try {
      await this.ingest.publish(tenant, body, prepared);
    } catch (error) {
      const forgotten = await this.requests.forgetUnapplied(ids).catch(() => 0);
      this.logger.warn({ tenant, requests: ids.length, forgotten }, 'deletion request not published; its status rows were removed');
      throw error;
    }
    return ids;
  }

  status(tenant: string, requestId: string): Promise<ErasureStatus | undefined> {
    return this.requests.status(tenant, requestId);
  }

  private identifierHasher(): Promise<IdentifierHasher> {
    this.hasher ??= IdentifierHasher.load(this.dataSource).catch((error) => {
      this.hasher = undefined; // the database was away: try again on the next request
      throw error;
    });
    return this.hasher;
  }
}
