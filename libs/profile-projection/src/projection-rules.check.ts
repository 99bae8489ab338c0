import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RULES_VERSION } from '@tessera/identity';
import { LOGGER, ReadinessRegistry, TesseraLogger } from '@tessera/runtime';
import { describeOutdatedRules, ProjectionRulesRepository, ProjectionRulesState } from '@tessera/store';

/**
 * At start, compares the rules version the projections were built under with this version's
 * (RULES_VERSION). Outdated projections get one warning naming the replay command, and fail readiness
 * until a replay stamps them: /health/ready answers a status only, so failing is how it reports this.
 * Only processes that project (worker, single node) register it; ingest and query stay ready.
 */
@Injectable()
export class ProjectionRulesCheck implements OnApplicationBootstrap {
  private readonly rules: ProjectionRulesRepository;
  private state?: ProjectionRulesState;

  constructor(
    dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
    readiness: ReadinessRegistry,
  ) {
    this.rules = new ProjectionRulesRepository(dataSource);
    readiness.register('projection-rules', () => this.assertCurrent());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.state = await this.rules.check(RULES_VERSION);
    if (this.state.kind === 'outdated') {
      this.logger.warn({ storedRulesVersion: this.state.stored ?? null, rulesVersion: RULES_VERSION }, describeOutdatedRules(this.state));
    }
  }

  /** Re-reads only while outdated, so a replay run meanwhile clears it. */
  private async assertCurrent(): Promise<void> {
    if (this.state?.kind !== 'outdated') return;
    if ((await this.rules.storedVersion()) === RULES_VERSION) {
      this.state = { kind: 'current', version: RULES_VERSION };
      return;
    }
    throw new Error(describeOutdatedRules(this.state));
  }
}
