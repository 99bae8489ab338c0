import { Controller, Get, HttpCode, Inject } from '@nestjs/common';
import { ApiProblemException } from '../http/api-problem.exception';
import type { Infrastructure } from '../infrastructure';
import { INFRASTRUCTURE } from '../tokens';

const CHECK_TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref())]);
}

@Controller('health')
export class HealthController {
  constructor(@Inject(INFRASTRUCTURE) private readonly infra: Infrastructure) {}

  /** The process is up. */
  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Ready only when the database answers, migrations ran and the log answers. */
  @Get('ready')
  async ready() {
    const checks: Record<string, string> = {};
    const run = async (name: string, check: () => Promise<unknown>) => {
      try {
        await within(check(), CHECK_TIMEOUT_MS);
        checks[name] = 'ok';
      } catch (error) {
        checks[name] = `failing: ${error instanceof Error ? error.message : String(error)}`;
      }
    };
    await Promise.all([
      run('database', () => this.infra.database.dataSource.query('SELECT 1')),
      run('migrations', async () => {
        if (!this.infra.database.migrationsRan) throw new Error('not run');
        if (await this.infra.database.dataSource.showMigrations()) throw new Error('pending migrations');
      }),
      run('eventLog', () => this.infra.eventLog.ping()),
    ]);
    const ok = Object.values(checks).every((v) => v === 'ok');
    if (!ok) throw new ApiProblemException(503, { message: JSON.stringify(checks) }, { 'Retry-After': '5' });
    return { status: 'ok', engine: this.infra.eventLog.engine, checks };
  }
}
