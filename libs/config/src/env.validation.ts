import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** One line per bad variable, with the value as given (a failed number conversion would show `null`). */
function describe(errors: ValidationError[], raw: Record<string, string>): string[] {
  return errors.flatMap((e) => {
    const constraints = e.constraints ?? {};
    // Not a number at all: the range checks say nothing more.
    const typeOnly = Number.isNaN(e.value) && constraints.isInt !== undefined;
    const messages = typeOnly ? [constraints.isInt] : Object.values(constraints);
    const line = messages.length ? [`${e.property}: ${messages.join('; ')} (got ${JSON.stringify(raw[e.property] ?? e.value)})`] : [];
    return [...line, ...describe(e.children ?? [], {})];
  });
}

/**
 * Validates the environment against an app's env class; fails fast naming every bad variable.
 * Empty strings count as unset so `FOO= npm start` means "use the default".
 */
export function loadEnv<T extends object>(envClass: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') raw[k] = v;
  const instance = plainToInstance(envClass, raw, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(instance, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigurationError(`Invalid configuration:\n  ${describe(errors, raw).join('\n  ')}`);
  }
  return instance;
}
