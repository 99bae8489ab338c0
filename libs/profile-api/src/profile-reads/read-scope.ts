import type { AuthenticatedRequest } from '@tessera/runtime';
import type { ReadScope } from './profile-view';

/** The ReadScope of a request's key: its tenant and restrictions (a key without the field is unrestricted). */
export function readScopeOf(request: AuthenticatedRequest): ReadScope {
  const principal = request.principal!;
  const restrictions = (principal as { restrictions?: readonly string[] | null }).restrictions;
  return { tenant: principal.tenant, restrictions: Array.isArray(restrictions) ? restrictions : null };
}
