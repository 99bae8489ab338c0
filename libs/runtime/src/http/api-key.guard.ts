import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import type { HttpEnv } from '@tessera/config';
import type { ApiKeyPrincipal } from '@tessera/store';
import { TenantRepository } from '@tessera/store';
import type { Infrastructure } from '../infrastructure';
import type { TesseraLogger } from '../logger';
import { INFRASTRUCTURE, LOGGER } from '../tokens';
import { declaredAccess, POLICY_KEY_KINDS } from './access-policy';
import { ForbiddenApiKeyException } from './api-problem.exception';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  principal?: ApiKeyPrincipal;
  /** Set on routes of the `admin` policy, which the admin key called (no tenant principal). */
  admin?: true;
}

const MAX_KEY_LENGTH = 256;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The key a request presents: `x-api-key` (DESIGN §3), else `Authorization: Bearer <key>` (DESIGN §12).
 * `undefined` when there is none; `null` when what is there cannot be a key (refused as unknown).
 */
export function presentedApiKey(headers: AuthenticatedRequest['headers']): string | null | undefined {
  const apiKey = headers['x-api-key'];
  if (apiKey !== undefined && apiKey !== '') return typeof apiKey === 'string' && apiKey.length <= MAX_KEY_LENGTH ? apiKey : null;
  const authorization = headers.authorization;
  if (authorization === undefined || authorization === '') return undefined;
  const key = typeof authorization === 'string' ? BEARER.exec(authorization)?.[1] : undefined;
  return key && key.length <= MAX_KEY_LENGTH ? key : null;
}

/**
 * The API-key check of every HTTP route, by its declared access policy (see `Access`). It fails
 * closed: a route that declares none is refused with the same 403 as a bad key. It says why it
 * refused (`ForbiddenApiKeyException.refusal`); each surface's filter decides what the client sees.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly reported = new Set<string>();

  constructor(
    private readonly tenants: TenantRepository,
    @Optional() @Inject(LOGGER) private readonly logger?: TesseraLogger,
    @Optional() @Inject(INFRASTRUCTURE) private readonly infra?: Pick<Infrastructure, 'env'>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Handlers on the event-log transport (consumer groups) are fed by Tessera itself, not by clients.
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // A CORS preflight carries no credentials by definition (Fetch standard); it reads and writes nothing.
    if (request.method === 'OPTIONS') return true;
    const policy = declaredAccess(context.getHandler(), context.getClass());
    if (!policy) {
      this.reportUndeclared(`${context.getClass().name}.${context.getHandler().name}`);
      throw new ForbiddenApiKeyException('undeclared');
    }
    if (policy === 'none') return true;
    const presented = presentedApiKey(request.headers);
    if (presented === undefined) throw new ForbiddenApiKeyException('missing');
    if (policy === 'admin' && presented !== null && this.isAdminKey(presented)) {
      request.admin = true;
      return true;
    }
    const principal = presented === null ? null : await this.tenants.authenticate(presented);
    // The admin key is known, but is no tenant's key: 403 on tenant routes (checked only after a miss).
    if (!principal) throw new ForbiddenApiKeyException(presented !== null && this.isAdminKey(presented) ? 'insufficient' : 'unknown');
    if (!POLICY_KEY_KINDS[policy].has(principal.kind)) throw new ForbiddenApiKeyException('insufficient');
    request.principal = principal;
    return true;
  }

  /**
   * `TESSERA_ADMIN_KEY` (single node: generated at start when unset; elsewhere unset = no admin key).
   * Read per request, as the start-up may set it after the guard exists; compared by hash in constant time.
   */
  private isAdminKey(presented: string): boolean {
    const adminKey = (this.infra?.env as Partial<HttpEnv> | undefined)?.TESSERA_ADMIN_KEY;
    if (!adminKey) return false;
    const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
    return timingSafeEqual(digest(presented), digest(adminKey));
  }

  private reportUndeclared(route: string): void {
    if (this.reported.has(route)) return;
    this.reported.add(route);
    this.logger?.error({ route }, 'route declares no access policy (@Access): every request to it is refused');
  }
}
