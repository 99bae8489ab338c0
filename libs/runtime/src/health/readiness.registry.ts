/** Resolves (any value) when its part of the process is ready; throws or rejects with the reason when not. */
export type ReadinessCheck = () => unknown;

export interface ReadinessReport {
  ready: boolean;
  /** `ok`, or why the check failed (for logs and operators, never for HTTP callers). */
  checks: Record<string, string>;
}

const CHECK_TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What `/health/ready` asks: named checks registered by the parts of the process (the core registers
 * the database, migrations and the event log; a module adds its own, e.g. the projector's stalled
 * partitions or a consumer group that stopped for good). Ready when every check passes.
 */
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly timeoutMs = CHECK_TIMEOUT_MS) {}

  register(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" is registered twice`);
    this.checks.set(name, check);
  }

  names(): string[] {
    return [...this.checks.keys()];
  }

  /** Runs every check at once, each bounded in time. */
  async evaluate(): Promise<ReadinessReport> {
    const results = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          await within(Promise.resolve().then(check), this.timeoutMs);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, `failing: ${error instanceof Error ? error.message : String(error)}`] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    return { ready: results.every(([, result]) => result === 'ok'), checks };
  }
}
