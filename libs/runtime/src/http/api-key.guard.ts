import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import type { ApiKeyPrincipal } from '@tessera/store';
import { TenantRepository } from '@tessera/store';
import type { TesseraLogger } from '../logger';
import { LOGGER } from '../tokens';
import { declaredAccess } from './access-policy';
import { ForbiddenApiKeyException } from './api-problem.exception';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: ApiKeyPrincipal;
}

/**
 * The API-key check of every HTTP route, by its declared access policy (see `Access`). It fails
 * closed: a route that declares none is refused with the same 403 as a bad key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly reported = new Set<string>();

  constructor(
    private readonly tenants: TenantRepository,
    @Optional() @Inject(LOGGER) private readonly logger?: TesseraLogger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Handlers on the event-log transport (consumer groups) are fed by Tessera itself, not by clients.
    if (context.getType() !== 'http') return true;
    const policy = declaredAccess(context.getHandler(), context.getClass());
    if (!policy) {
      this.reportUndeclared(`${context.getClass().name}.${context.getHandler().name}`);
      throw new ForbiddenApiKeyException();
    }
    if (policy === 'none') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 256) throw new ForbiddenApiKeyException();
    const principal = await this.tenants.authenticate(presented);
    if (!principal || (policy === 'read' && principal.kind !== 'private')) throw new ForbiddenApiKeyException();
    request.principal = principal;
    return true;
  }

  private reportUndeclared(route: string): void {
    if (this.reported.has(route)) return;
    this.reported.add(route);
    this.logger?.error({ route }, 'route declares no access policy (@Access): every request to it is refused');
  }
}
