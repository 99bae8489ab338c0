import { INestApplicationContext, Inject, Injectable, OnApplicationBootstrap, Optional, RequestMethod, SetMetadata } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { ApiKeyKind } from '@tessera/store';
import type { TesseraLogger } from '../logger';
import { LOGGER } from '../tokens';

/**
 * Who may call an HTTP route (DESIGN §3, §12): `none` — anyone, no key (health probes); `write` — a
 * public or private key (ingest); `read` — a read or private key (every GET); `private` — a private
 * key only (writes that are not ingest: schema, compliance, the native API's writes); `admin` — only
 * the admin key `TESSERA_ADMIN_KEY` (tenants and keys, seed 004; no tenant key, whatever its kind). Every route
 * declares one; the API-key guard refuses a route that does not (fails closed), so a route added
 * without thought is never open.
 */
export type AccessPolicy = 'none' | 'write' | 'read' | 'private' | 'admin';

export const ACCESS_POLICIES: readonly AccessPolicy[] = ['none', 'write', 'read', 'private', 'admin'];

/** The tenant key kinds each policy admits (`none` needs no key; `admin` admits the admin key only). */
export const POLICY_KEY_KINDS: Readonly<Record<Exclude<AccessPolicy, 'none'>, ReadonlySet<ApiKeyKind>>> = {
  write: new Set<ApiKeyKind>(['public', 'private']),
  read: new Set<ApiKeyKind>(['read', 'private']),
  private: new Set<ApiKeyKind>(['private']),
  admin: new Set<ApiKeyKind>(),
};
export const ACCESS_POLICY = 'tessera:access-policy';

/** Declares a route's (or a controller's routes') access policy. */
export const Access = (policy: AccessPolicy) => SetMetadata(ACCESS_POLICY, policy);

export function isAccessPolicy(value: unknown): value is AccessPolicy {
  return ACCESS_POLICIES.includes(value as AccessPolicy);
}

/** The policy a handler declares, its own before its controller's. */
export function declaredAccess(handler: object, controller: object): AccessPolicy | undefined {
  const policy = Reflect.getMetadata(ACCESS_POLICY, handler) ?? Reflect.getMetadata(ACCESS_POLICY, controller);
  return isAccessPolicy(policy) ? policy : undefined;
}

export interface RouteAccess {
  method: string;
  path: string;
  /** `Controller.method`. */
  handler: string;
  access?: AccessPolicy;
}

function joinPath(...parts: string[]): string {
  const path = parts.map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/');
  return `/${path}`;
}

/** Every HTTP route of an app's controllers (as Nest's router registers them) with its declared policy. */
export function routeAccessTable(app: INestApplicationContext | ModulesContainer): RouteAccess[] {
  const modules = app instanceof ModulesContainer ? app : app.get(ModulesContainer);
  const scanner = new MetadataScanner();
  const routes: RouteAccess[] = [];
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) continue;
      const prefixes = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, controller) ?? '/');
      for (const name of scanner.getAllMethodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, object>)[name];
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (paths === undefined) continue; // not an HTTP route (e.g. an event-log handler)
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        for (const prefix of prefixes) {
          for (const path of ([] as string[]).concat(paths)) {
            routes.push({ method, path: joinPath(prefix, path), handler: `${controller.name}.${name}`, access: declaredAccess(handler, controller) });
          }
        }
      }
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** Names, at start-up, every route the guard will refuse for want of a declared policy. */
@Injectable()
export class AccessPolicyAudit implements OnApplicationBootstrap {
  constructor(
    private readonly modules: ModulesContainer,
    @Optional() @Inject(LOGGER) private readonly logger?: TesseraLogger,
  ) {}

  onApplicationBootstrap(): void {
    for (const route of routeAccessTable(this.modules).filter((r) => !r.access)) {
      this.logger?.error({ route: `${route.method} ${route.path}`, handler: route.handler }, 'route declares no access policy (@Access): every request to it is refused');
    }
  }
}
