import type { DataSource, EntityManager } from 'typeorm';
import type { StoredIdentifierType } from '../entities/tenant.entity';

/**
 * A tenant's customer schema (DESIGN §10): custom identifier types (kept in `tenants.settings.identifierTypes`,
 * where the identifier rules read them) and declared customer fields (table `customer_fields`).
 * Both share one name space, so every change runs under the tenant row's lock: two requests can never
 * declare the same name twice, as a field and an identifier or as two of either.
 */

export type StoredFieldType = 'string' | 'number' | 'timestamp' | 'boolean';

export interface CustomerFieldRow {
  name: string;
  type: StoredFieldType;
  displayName: string | null;
  description: string | null;
}

export interface CustomerSchemaState {
  identifierTypes: StoredIdentifierType[];
  fields: CustomerFieldRow[];
}

/** What a decision on the current schema writes (nothing when both are absent) and answers. */
export interface CustomerSchemaChange<T> {
  result: T;
  /** The tenant's whole new list of custom identifier types. */
  identifierTypes?: StoredIdentifierType[];
  /** One field to add (its name is free: the decision checked it under the lock). */
  addField?: CustomerFieldRow;
}

type FieldRecord = { name: string; type: StoredFieldType; display_name: string | null; description: string | null };

const toField = (r: FieldRecord): CustomerFieldRow => ({ name: r.name, type: r.type, displayName: r.display_name, description: r.description });

/**
 * Reads the tenant's schema under its row lock, lets `decide` (pure) choose a change, writes it, commits.
 * `{found: false}` when there is no such tenant.
 */
export async function changeCustomerSchema<T>(
  dataSource: DataSource,
  tenant: string,
  decide: (state: CustomerSchemaState) => CustomerSchemaChange<T>,
): Promise<{ found: false } | { found: true; result: T }> {
  return dataSource.transaction(async (manager) => {
    const rows: Array<{ types: StoredIdentifierType[] | null }> = await manager.query(
      `SELECT settings->'identifierTypes' AS types FROM tenants WHERE id = $1 FOR UPDATE`,
      [tenant],
    );
    if (!rows.length) return { found: false as const };
    const state = { identifierTypes: Array.isArray(rows[0].types) ? rows[0].types : [], fields: await fieldsIn(manager, tenant) };
    const change = decide(state);
    if (change.identifierTypes) {
      await manager.query(`UPDATE tenants SET settings = settings || jsonb_build_object('identifierTypes', $2::jsonb) WHERE id = $1`, [
        tenant,
        JSON.stringify(change.identifierTypes),
      ]);
    }
    if (change.addField) {
      const f = change.addField;
      await manager.query(`INSERT INTO customer_fields (tenant, name, type, display_name, description) VALUES ($1, $2, $3, $4, $5)`, [
        tenant,
        f.name,
        f.type,
        f.displayName,
        f.description,
      ]);
    }
    return { found: true as const, result: change.result };
  });
}

/** The schema as stored now (no cache): what the schema routes list. `null` when there is no such tenant. */
export async function readCustomerSchema(dataSource: DataSource, tenant: string): Promise<CustomerSchemaState | null> {
  const rows: Array<{ types: StoredIdentifierType[] | null; fields: FieldRecord[] }> = await dataSource.query(
    `SELECT t.settings->'identifierTypes' AS types,
            coalesce((SELECT jsonb_agg(jsonb_build_object('name', f.name, 'type', f.type, 'display_name', f.display_name, 'description', f.description)
                                       ORDER BY f.created_at, f.name)
                        FROM customer_fields f WHERE f.tenant = t.id), '[]'::jsonb) AS fields
       FROM tenants t WHERE t.id = $1`,
    [tenant],
  );
  if (!rows.length) return null;
  return { identifierTypes: Array.isArray(rows[0].types) ? rows[0].types : [], fields: rows[0].fields.map(toField) };
}

/** Declared field types by name: what ingest checks values against (cached by TenantRepository.fieldsOf). */
export async function loadFieldTypes(dataSource: DataSource, tenant: string): Promise<ReadonlyMap<string, StoredFieldType>> {
  const rows: Array<{ name: string; type: StoredFieldType }> = await dataSource.query(`SELECT name, type FROM customer_fields WHERE tenant = $1`, [tenant]);
  return new Map(rows.map((r) => [r.name, r.type]));
}

async function fieldsIn(manager: EntityManager, tenant: string): Promise<CustomerFieldRow[]> {
  const rows: FieldRecord[] = await manager.query(
    `SELECT name, type, display_name, description FROM customer_fields WHERE tenant = $1 ORDER BY created_at, name`,
    [tenant],
  );
  return rows.map(toField);
}
