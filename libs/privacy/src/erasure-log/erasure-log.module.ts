import { Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EVENT_LOG, EventLog } from '@tessera/event-log';
import { LOGGER, logPort, TesseraLogger } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import { ErasureLogCompleter } from './erasure-log-completer';

/** Runs the erasure completer in the worker role (single-node: in the one process) for the app's lifetime. */
@Injectable()
export class ErasureLogService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly completer: ErasureLogCompleter;

  constructor(dataSource: DataSource, @Inject(EVENT_LOG) eventLog: EventLog, tenants: TenantRepository, @Inject(LOGGER) logger: TesseraLogger) {
    this.completer = new ErasureLogCompleter(dataSource, eventLog, tenants, logPort(logger.child({ component: 'erasure-log' })));
  }

  onApplicationBootstrap(): void {
    this.completer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.completer.stop();
  }
}

@Module({ providers: [ErasureLogService], exports: [ErasureLogService] })
export class ErasureLogModule {}
