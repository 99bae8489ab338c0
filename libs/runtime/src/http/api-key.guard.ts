import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiKeyKind, ApiKeyPrincipal } from '@tessera/store';
import { TenantRepository } from '@tessera/store';
import { ForbiddenApiKeyException } from './api-problem.exception';

const REQUIRED_KIND = 'tessera:required-key-kind';

/** Routes that write accept public and private keys; reads need a private key (DESIGN §3). */
export const RequiresKey = (kind: ApiKeyKind) => SetMetadata(REQUIRED_KIND, kind);

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: ApiKeyPrincipal;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tenants: TenantRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const required = this.reflector.get<ApiKeyKind | undefined>(REQUIRED_KIND, context.getHandler());
    if (!required) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 256) throw new ForbiddenApiKeyException();
    const principal = await this.tenants.authenticate(presented);
    if (!principal || (required === 'private' && principal.kind !== 'private')) throw new ForbiddenApiKeyException();
    request.principal = principal;
    return true;
  }
}
