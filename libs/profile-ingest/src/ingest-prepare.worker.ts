// The thread of IngestPreparePool: `IngestKind.prepare` of one body per message, answered in order.
import { parentPort } from 'node:worker_threads';
import type { IdentifierRules } from '@tessera/identity';
import { WORKER_INGEST_KINDS, type IngestKind } from './ingest-kinds';
import { flatRecords, rulesOf, type PrepareReply, type PrepareRequest } from './ingest-prepare.protocol';

const KINDS = new Map<string, IngestKind>(WORKER_INGEST_KINDS.map((k) => [k.name, k]));
const rulesByKey = new Map<string, IdentifierRules>();

function handle(m: PrepareRequest): PrepareReply {
  try {
    const kind = KINDS.get(m.kind);
    if (!kind) throw new Error(`unknown ingest kind ${m.kind}`);
    let rules = rulesByKey.get(m.rules.key);
    if (rules === undefined) {
      if (rulesByKey.size >= 1000) rulesByKey.clear();
      rulesByKey.set(m.rules.key, (rules = rulesOf(m.rules)));
    }
    const prepared = kind.prepare(m.tenant, m.body, { rules, fields: m.fields, receivedAt: new Date(m.receivedAt) });
    return prepared.ok ? flatRecords(m.id, prepared.records) : { id: m.id, ok: false, detail: prepared.detail };
  } catch (error) {
    return { id: m.id, error: error instanceof Error ? error.message : String(error) };
  }
}

parentPort!.on('message', (m: PrepareRequest) => parentPort!.postMessage(handle(m)));
