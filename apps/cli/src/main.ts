import 'reflect-metadata';
import { CommonEnv, ConfigurationError, loadEnv } from '@tessera/config';
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { createLogger, Infrastructure, startInfrastructure } from '@tessera/runtime';
import { CommandSpec, parseCommand, UsageError } from './cli-args';
import { deadLettersMain } from './commands/dead-letters.command';
import { createKey, listKeys, revokeKey } from './commands/keys.command';
import { replayProjections } from './commands/replay.command';
import { addIdentifier, CliError, createTenant, listTenants, setRateLimit, setRegion } from './commands/tenants.command';

const USAGE = `usage: npm run tessera -- <command>

  tenants create <id> [--name NAME]          create a tenant (id: a-z, 0-9, _ and -; over HTTP
                                             POST /api/v1/tenants takes ^[a-z][a-z0-9]+$)
  tenants list                               list tenants
  tenants set-rate-limit <id> --items-per-second N [--burst M]
                                             per-tenant ingest/look-up rate limit (token bucket)
  tenants add-identifier <id> --type NAME --confidence high|low [--limit 1]
                                             a custom identifier type for the tenant
  tenants set-region <id> <CC>               default region for phones without a country code
                                             (ISO 3166-1 alpha-2, e.g. US)
  keys create --tenant ID --kind public|read|private [--restrictions A,B] [--label TEXT]
                                             create an API key (printed once; stored hashed);
                                             --restrictions: it reads only profiles whose
                                             restriction attribute is one of them
  keys list [--tenant ID]                    list keys (prefixes only)
  keys revoke <key-or-prefix>                revoke a key (the prefix as listed)
  replay                                     rebuild all profile projections from offset 0 of
                                             ${PROFILE_UPSERTS_TOPIC} (stop the worker/server first)
  dlq list [--limit N] [--state S]           dead letters (${PROFILE_UPSERTS_DLQ_TOPIC}) with id and state
  dlq retry                                  re-publish dead letters in state new to ${PROFILE_UPSERTS_TOPIC}
  dlq discard <id>… | dlq purge --before DATE
                                             never retry / delete dead letters (dlq --help)

Only results meant for scripts go to stdout; messages go to stderr. Exit codes: 0 done,
1 refused or failed (e.g. no such tenant), 2 wrong command line.
Uses the same environment as the server (DATABASE_URL, TESSERA_DATA_DIR, KAFKA_BROKERS).
tenants and keys commands call the same service as /api/v1/tenants (admin key).`;

const COMMANDS: Record<string, CommandSpec> = {
  'tenants create': { flags: ['name'], positionals: 1 },
  'tenants list': {},
  'tenants set-rate-limit': { flags: ['items-per-second', 'burst'], positionals: 1 },
  'tenants add-identifier': { flags: ['type', 'confidence', 'limit'], positionals: 1 },
  'tenants set-region': { positionals: 2 },
  'keys create': { flags: ['tenant', 'kind', 'label', 'restrictions'] },
  'keys list': { flags: ['tenant'] },
  'keys revoke': { positionals: 1 },
  // --from-beginning is accepted for old scripts: a replay always starts at offset 0.
  replay: { booleans: ['from-beginning'] },
};

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'dlq') return deadLettersMain(argv.slice(1)); // parses its own flags
  const parsed = parseCommand(argv, COMMANDS);
  if (parsed === 'help') {
    if (argv.length === 0) throw new UsageError('a command is required'); // stderr, exit 2
    process.stdout.write(`${USAGE}\n`); // asked for: stdout, exit 0
    return 0;
  }
  const { command, positionals: [arg, arg2], values } = parsed;
  const env = loadEnv(CommonEnv);
  const logger = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, 'tessera-cli');
  // Next to a running single-node server, share its embedded PostgreSQL instead of restarting it.
  const infra: Infrastructure = await startInfrastructure(env, logger, { whenEmbeddedRunning: 'share' });
  const io = { out: process.stdout, err: process.stderr };
  const tenants = infra.tenants;
  try {
    switch (command) {
      case 'tenants create':
        return await createTenant(tenants, arg, values.name as string | undefined, io);
      case 'tenants list':
        return await listTenants(tenants, io);
      case 'tenants set-rate-limit':
        return await setRateLimit(tenants, arg, values, io);
      case 'tenants add-identifier':
        return await addIdentifier(tenants, arg, values, io);
      case 'tenants set-region':
        return await setRegion(tenants, arg, arg2, io);
      case 'keys create':
        return await createKey(tenants, values, io);
      case 'keys list':
        return await listKeys(tenants, values.tenant as string | undefined, io);
      case 'keys revoke':
        return await revokeKey(tenants, arg, io);
      case 'replay':
        await replayProjections(infra, { out: process.stdout });
        return 0;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } finally {
    await infra.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) console.error(`tessera: ${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigurationError || error instanceof CliError) console.error(`tessera: ${error.message}`);
    else console.error(`tessera: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
