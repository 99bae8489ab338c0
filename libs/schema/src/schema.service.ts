import { Injectable } from '@nestjs/common';
import { TenantRepository } from '@tessera/store';
import { CustomerFieldView, decideField, fieldView, parseFieldRequest } from './fields/field-schema.rules';
import {
  decideIdentifier,
  IdentifierCreated,
  identifierCreated,
  IdentifierListItem,
  listIdentifiers,
  parseIdentifierRequest,
} from './identifiers/identifier-schema.rules';
import { SchemaRequestError } from './schema-request.error';

/**
 * A tenant's customer schema (DESIGN §10): custom identifier types and declared customer fields.
 * The one implementation behind `/v3/schema/…` and the CLI's `tenants add-identifier`. Changes run
 * under the tenant's row lock and apply to records accepted from then on (this process at once,
 * others within the tenant cache's 5 s).
 */
@Injectable()
export class SchemaService {
  constructor(private readonly tenants: TenantRepository) {}

  /** `body`: the ODP request. `perProfileLimit`: the CLI's `--limit` (the HTTP API has none). */
  async addIdentifier(tenant: string, body: unknown, perProfileLimit: number | null = null): Promise<IdentifierCreated> {
    const declaration = parseIdentifierRequest(body, perProfileLimit);
    const changed = await this.tenants.changeCustomerSchema(tenant, (state) => ({
      identifierTypes: decideIdentifier(state, declaration),
      result: identifierCreated(declaration),
    }));
    if (!changed.found) throw noTenant(tenant);
    return changed.result;
  }

  async listIdentifiers(tenant: string): Promise<{ identifiers: IdentifierListItem[] }> {
    return { identifiers: listIdentifiers(await this.schemaOf(tenant)) };
  }

  async addField(tenant: string, body: unknown): Promise<CustomerFieldView> {
    const field = parseFieldRequest(body);
    const changed = await this.tenants.changeCustomerSchema(tenant, (state) => {
      const row = decideField(state, field);
      return { addField: row, result: fieldView(row) };
    });
    if (!changed.found) throw noTenant(tenant);
    return changed.result;
  }

  async listFields(tenant: string): Promise<{ fields: CustomerFieldView[] }> {
    return { fields: (await this.schemaOf(tenant)).fields.map(fieldView) };
  }

  async field(tenant: string, name: string): Promise<CustomerFieldView> {
    const row = (await this.schemaOf(tenant)).fields.find((f) => f.name === name);
    if (!row) throw new SchemaRequestError(404, `Unable to find field ${name.slice(0, 80)} on object customers`);
    return fieldView(row);
  }

  private async schemaOf(tenant: string) {
    const state = await this.tenants.customerSchema(tenant);
    if (!state) throw noTenant(tenant);
    return state;
  }
}

function noTenant(tenant: string): SchemaRequestError {
  return new SchemaRequestError(404, `no tenant '${tenant}'`);
}
