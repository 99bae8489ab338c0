import { intFlag, parseCommand, positiveNumberFlag, UsageError } from './cli-args';

const COMMANDS = {
  'keys create': { flags: ['tenant', 'kind'] },
  'tenants set-region': { positionals: 2 },
  replay: { booleans: ['from-beginning'] },
};

describe('parseCommand', () => {
  it('given a known command, then its positionals and flags', () => {
    expect(parseCommand(['keys', 'create', '--tenant', 'acme', '--kind', 'public'], COMMANDS)).toEqual({
      command: 'keys create',
      positionals: [],
      values: { tenant: 'acme', kind: 'public' },
    });
    expect(parseCommand(['tenants', 'set-region', 'acme', 'US'], COMMANDS)).toMatchObject({ command: 'tenants set-region', positionals: ['acme', 'US'] });
    expect(parseCommand(['replay', '--from-beginning'], COMMANDS)).toMatchObject({ command: 'replay', values: { 'from-beginning': true } });
  });

  it('given no words or --help, then help', () => {
    expect(parseCommand([], COMMANDS)).toBe('help');
    expect(parseCommand(['keys', 'create', '-h'], COMMANDS)).toBe('help');
  });

  it.each([
    [['keys', 'create', '--tenant', 'a', '--label', 'x'], /keys create: Unknown option '--label'/],
    [['keys', 'create', '--tenant'], /keys create: Option '--tenant <value>' argument missing/],
    [['keys', 'delete'], /unknown command: keys delete/],
    [['--tenant', 'x'], /unknown command: --tenant/],
    [['tenants', 'set-region', 'a', 'US', 'extra'], /unexpected argument 'extra'/],
    [['replay', 'now'], /replay: unexpected argument 'now'/],
  ])('given %j, then a UsageError naming the problem', (argv, message) => {
    expect(() => parseCommand(argv, COMMANDS)).toThrow(UsageError);
    expect(() => parseCommand(argv, COMMANDS)).toThrow(message);
  });
});

describe('intFlag / positiveNumberFlag', () => {
  it('given digits, then the number; absent, then the fallback', () => {
    expect(intFlag('25', 'limit', 100)).toBe(25);
    expect(intFlag(undefined, 'limit', 100)).toBe(100);
    expect(positiveNumberFlag('2.5', 'items-per-second')).toBe(2.5);
    expect(positiveNumberFlag(undefined, 'burst', 7)).toBe(7);
  });

  it.each(['abc', '1.5', '0', '-3', '', '1e3', '12abc'])('given --limit %j, then a UsageError naming the flag and the value', (value) => {
    expect(() => intFlag(value, 'limit', 100)).toThrow(new UsageError(`--limit must be an integer from 1 (got ${JSON.stringify(value)})`));
  });

  it.each(['fast', '0', '-1', 'Infinity', '1e400'])('given --burst %j, then a UsageError', (value) => {
    expect(() => positiveNumberFlag(value, 'burst')).toThrow(/--burst must be a positive number/);
  });
});
