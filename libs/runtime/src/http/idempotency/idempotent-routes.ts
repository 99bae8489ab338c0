/**
 * The routes that honour the `Idempotency-Key` request header (DESIGN §10), as `METHOD /path` of the
 * router. Only routes that publish records belong here: their answer is kept and replayed.
 */
export const IDEMPOTENT_ROUTES: ReadonlySet<string> = new Set(['POST /v3/profiles', 'POST /v3/events']);

/** `METHOD /path` when the request's route honours `Idempotency-Key`, else undefined. */
export function idempotentRoute(method: string | undefined, routeUrl: string | undefined): string | undefined {
  const route = `${method ?? ''} ${routeUrl ?? ''}`;
  return IDEMPOTENT_ROUTES.has(route) ? route : undefined;
}
