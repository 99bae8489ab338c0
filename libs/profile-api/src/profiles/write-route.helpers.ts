import { isUuid } from '@tessera/identity';
import { ProblemException, type AuthenticatedRequest, type TenantRateLimiter } from '@tessera/runtime';
import type { TenantRepository } from '@tessera/store';
import type { FastifyReply } from 'fastify';
import type { BodyRules, Parsed } from './profile-body';
import type { WriteAnswer } from './profile-write-answers.service';
import { PendingWriteDto } from './profiles.dto';

/** A profile id of a path: a UUID, canonical in lower case; anything else names no profile (404). */
export function profileIdParam(id: string): string {
  const lower = id.toLowerCase();
  if (!isUuid(lower)) throw ProblemException.notFound(`no profile with id ${id.slice(0, 80)}`);
  return lower;
}

/** A contact id (`contactIdOf`: 22 base64url characters); anything else names no contact (404). */
export function contactIdParam(contactId: string): string {
  if (!/^[A-Za-z0-9_-]{22}$/.test(contactId)) throw ProblemException.notFound(`no contact with id ${contactId.slice(0, 80)}`);
  return contactId;
}

/** Writes take no query parameters (DESIGN §12: a query-string error is a 400 naming the parameter). */
export function noQueryParameters(query: Record<string, unknown> | undefined): void {
  const name = query ? Object.keys(query)[0] : undefined;
  if (name !== undefined) throw ProblemException.badParameter(name.slice(0, 80), 'is not a parameter of this route (writes take none)');
}

/** The parsed body, or the 422 naming every bad field. */
export function bodyOrProblem<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw ProblemException.validation(parsed.errors);
  return parsed.value;
}

/** What bodies are judged against: the tenant's identifier rules and declared fields, as for a /v3 upsert. */
export async function bodyRulesOf(tenants: TenantRepository, tenant: string): Promise<BodyRules> {
  const [identifiers, fields] = await Promise.all([tenants.identifierRules(tenant), tenants.fieldsOf(tenant)]);
  return { identifiers, fields };
}

/** The normalised value of an identifier, undefined when it does not normalise (for `foldContacts`). */
export function normaliserOf(rules: BodyRules): (type: string, value: unknown) => string | undefined {
  return (type, value) => {
    const normalised = rules.identifiers.normalise(type, value);
    return normalised.ok ? normalised.value : undefined;
  };
}

/** Status and `Location` on the reply (Nest sends the returned body). */
export function sendAnswer<T>(reply: FastifyReply, answer: WriteAnswer<T>): T | undefined {
  reply.status(answer.status);
  if (answer.location) reply.header('location', answer.location);
  return answer.body;
}

export const LOCATION_HEADER = { Location: { description: 'The resource written', schema: { type: 'string' } } };

/** DELETE of a profile not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS. */
export const ERASURE_PENDING = {
  status: 202,
  description: 'Erasure on the log but not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS; `Location` is its status (GET /v3/compliance/gdpr/status/{request_id})',
  type: PendingWriteDto,
  headers: { Location: { description: 'The erasure request\'s status', schema: { type: 'string' } } },
};

/** The caller's tenant, after taking one write from its rate limit (every native write route). */
export async function rateLimitedTenant(rateLimiter: TenantRateLimiter, request: AuthenticatedRequest): Promise<string> {
  const tenant = request.principal!.tenant;
  await rateLimiter.take(tenant, 1);
  return tenant;
}
