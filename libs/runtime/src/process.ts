import { ConfigurationError, loadEnv } from '@tessera/config';
import type { CommonEnv } from '@tessera/config';
import { startInfrastructure, Infrastructure } from './infrastructure';
import { createLogger, TesseraLogger } from './logger';
import { limitServiceHeapGrowth } from './memory/heap-growth';

export interface RunningService {
  stop(): Promise<void>;
}

/**
 * Process lifecycle shared by every app: validated env (fail fast naming the variable),
 * infrastructure, the app itself, and an orderly SIGINT/SIGTERM shutdown that exits 0.
 */
export async function runService<E extends CommonEnv>(options: {
  name: string;
  envClass: new () => E;
  start: (env: E, infra: Infrastructure, logger: TesseraLogger) => Promise<RunningService>;
}): Promise<void> {
  limitServiceHeapGrowth();
  let env: E;
  try {
    env = loadEnv(options.envClass);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      console.error(`${options.name}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL, options.name);
  let infra: Infrastructure | undefined;
  let service: RunningService | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    let code = 0;
    try {
      await service?.stop();
    } catch (error) {
      code = 1;
      logger.error({ err: error }, 'stopping the service failed');
    }
    try {
      await infra?.close();
    } catch (error) {
      code = 1;
      logger.error({ err: error }, 'closing the infrastructure failed');
    }
    logger.info('stopped');
    logger.flush?.();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  try {
    infra = await startInfrastructure(env, logger);
    service = await options.start(env, infra, logger);
  } catch (error) {
    logger.error({ err: error }, `${options.name} failed to start`);
    await infra?.close().catch(() => undefined);
    process.exit(1);
  }
}
