import { parseArgs, ParseArgsConfig } from 'node:util';

/** A wrong command line: printed on stderr with the usage, exit code 2. */
export class UsageError extends Error {}

/** A command the CLI knows: the flags it takes (each a string unless listed as boolean) and how many positionals. */
export interface CommandSpec {
  flags?: string[];
  booleans?: string[];
  positionals?: number;
}

export interface ParsedCommand {
  command: string;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/**
 * Splits `argv` into a known command (one or two words), its positionals and its flags. Unknown
 * commands, unknown flags, missing flag values and extra positionals are UsageErrors.
 */
export function parseCommand(argv: string[], commands: Record<string, CommandSpec>): ParsedCommand | 'help' {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) return 'help';
  const firstFlag = argv.findIndex((w) => w.startsWith('-'));
  const words = argv.slice(0, firstFlag === -1 ? 2 : Math.min(2, firstFlag));
  const command = [words.join(' '), words[0]].find((c) => c !== undefined && commands[c] !== undefined);
  if (command === undefined) throw new UsageError(`unknown command: ${words.join(' ') || argv[0]}`);
  const spec = commands[command];
  const options: ParseArgsConfig['options'] = {};
  for (const f of spec.flags ?? []) options[f] = { type: 'string' };
  for (const f of spec.booleans ?? []) options[f] = { type: 'boolean' };
  let parsed: { positionals: string[]; values: Record<string, string | boolean | undefined> };
  try {
    parsed = parseArgs({ args: argv.slice(command.split(' ').length), options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    // node's messages name the flag ("Unknown option '--x'", "Option '--limit <value>' argument missing").
    throw new UsageError(`${command}: ${(error as Error).message.split('. ')[0]}`);
  }
  if (parsed.positionals.length > (spec.positionals ?? 0)) {
    throw new UsageError(`${command}: unexpected argument '${parsed.positionals[spec.positionals ?? 0]}'`);
  }
  return { command, positionals: parsed.positionals, values: parsed.values };
}

/** An integer flag: absent → `fallback`; anything but digits within [min, max] is a UsageError naming the flag. */
export function intFlag(value: string | boolean | undefined, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  if (value === undefined) return fallback;
  const min = range.min ?? 1;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** A positive number flag (rates may be fractional): absent → `fallback`. */
export function positiveNumberFlag(value: string | boolean | undefined, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a positive number (got ${JSON.stringify(value)})`);
  return n;
}
