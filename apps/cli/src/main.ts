import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { CommonEnv, ConfigurationError, loadEnv } from '@tessera/config';
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { createLogger, Infrastructure, startInfrastructure } from '@tessera/runtime';
import { IdentifierRules } from '@tessera/identity';
import { TenantRepository } from '@tessera/store';
import { listDeadLetters, retryDeadLetters } from './commands/dead-letters.command';
import { replayProjections } from './commands/replay.command';

const USAGE = `usage: npm run tessera -- <command>

  tenants create <id> [--name NAME]          create a tenant (id: a-z, 0-9, _ and -)
  tenants list                               list tenants
  tenants set-rate-limit <id> --items-per-second N --burst M
                                             per-tenant ingest/look-up rate limit (token bucket)
  tenants add-identifier <id> --type NAME --confidence high|low [--limit 1]
                                             a custom identifier type for the tenant
  keys create --tenant ID --kind public|private [--label TEXT]
                                             create an API key (printed once; stored hashed)
  keys list [--tenant ID]                    list keys (prefixes only)
  keys revoke <key-or-prefix>                revoke a key
  replay [--from-beginning]                  rebuild all profile projections from offset 0 of
                                             ${PROFILE_UPSERTS_TOPIC} (stop the worker/server first)
  dlq list [--limit N]                       show dead-lettered records (${PROFILE_UPSERTS_DLQ_TOPIC})
  dlq retry                                  re-publish dead letters not retried yet to ${PROFILE_UPSERTS_TOPIC}

Uses the same environment as the server (DATABASE_URL, TESSERA_DATA_DIR, KAFKA_BROKERS).`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      kind: { type: 'string' },
      label: { type: 'string' },
      name: { type: 'string' },
      'from-beginning': { type: 'boolean' },
      'items-per-second': { type: 'string' },
      burst: { type: 'string' },
      type: { type: 'string' },
      confidence: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, action, arg] = positionals;
  if (values.help || !group) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const env = loadEnv(CommonEnv);
  const logger = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, 'tessera-cli');
  // Next to a running single-node server, share its embedded PostgreSQL instead of restarting it.
  const infra: Infrastructure = await startInfrastructure(env, logger, { whenEmbeddedRunning: 'share' });
  try {
    const tenants: TenantRepository = infra.tenants;
    switch (`${group} ${action ?? ''}`.trim()) {
      case 'tenants create': {
        if (!arg || !TenantRepository.isValidTenantId(arg)) throw new UsageError('tenants create <id>: id must match ^[a-z0-9][a-z0-9_-]{0,62}$');
        const t = await tenants.ensureTenant(arg, values.name ?? arg);
        console.log(`tenant ${t.id} (${t.name})`);
        return 0;
      }
      case 'tenants set-rate-limit': {
        const itemsPerSecond = Number(values['items-per-second']);
        const burst = Number(values.burst ?? values['items-per-second']);
        if (!arg || !(itemsPerSecond > 0) || !(burst > 0)) throw new UsageError('tenants set-rate-limit <id> --items-per-second N [--burst M] (positive numbers)');
        const settings = await tenants.updateSettings(arg, { rateLimit: { itemsPerSecond, burst } });
        console.log(`tenant ${arg}: ${JSON.stringify(settings.rateLimit)} (applies within 5 s)`);
        return 0;
      }
      case 'tenants add-identifier': {
        const type = values.type;
        const confidence = values.confidence;
        if (!arg || !type || !/^[a-z][a-z0-9_]{0,63}$/.test(type) || (confidence !== 'high' && confidence !== 'low')) {
          throw new UsageError('tenants add-identifier <id> --type NAME --confidence high|low [--limit 1]');
        }
        const current = (await tenants.settings(arg)).identifierTypes ?? [];
        const perProfileLimit = values.limit ? Number(values.limit) : null;
        const identifierTypes = [...current.filter((t) => t.type !== type), { type, confidence: confidence as 'high' | 'low', perProfileLimit }];
        const rules = IdentifierRules.defaults().withCustomTypes(identifierTypes); // throws on a bad definition
        await tenants.updateSettings(arg, { identifierTypes });
        console.log(`tenant ${arg}: identifier types ${rules.types().map((t) => t.type).join(', ')} (applies within 5 s)`);
        return 0;
      }
      case 'tenants list':
        for (const t of await tenants.listTenants()) console.log(`${t.id}\t${t.name}\t${t.createdAt.toISOString()}`);
        return 0;
      case 'keys create': {
        const tenant = values.tenant;
        const kind = values.kind;
        if (!tenant) throw new UsageError('keys create: --tenant is required');
        if (kind !== 'public' && kind !== 'private') throw new UsageError('keys create: --kind must be public or private');
        await tenants.ensureTenant(tenant);
        const key = await tenants.createApiKey(tenant, kind, values.label);
        console.log(key);
        console.error(`created a ${kind} key for tenant ${tenant}; it is shown only this once`);
        return 0;
      }
      case 'keys list':
        for (const k of await tenants.listApiKeys(values.tenant)) {
          console.log(`${k.prefix}…\t${k.tenantId}\t${k.kind}\t${k.label ?? ''}\t${k.revokedAt ? 'revoked' : 'active'}`);
        }
        return 0;
      case 'keys revoke': {
        if (!arg) throw new UsageError('keys revoke <key-or-prefix>');
        const n = await tenants.revokeApiKey(arg);
        console.log(`revoked ${n} key(s)`);
        return n > 0 ? 0 : 1;
      }
      case 'replay':
        await replayProjections(infra, { out: process.stdout });
        return 0;
      case 'dlq list':
        await listDeadLetters(infra, { limit: values.limit ? Number(values.limit) : 100, out: process.stdout });
        return 0;
      case 'dlq retry': {
        const n = await retryDeadLetters(infra);
        console.log(`re-published ${n} dead-lettered record(s) to ${PROFILE_UPSERTS_TOPIC}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
    }
  } finally {
    await infra.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError || error instanceof ConfigurationError) console.error(error.message);
    else console.error(`tessera: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
