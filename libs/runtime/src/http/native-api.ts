/** The native resource API's path prefix (DESIGN §12): its errors are problem+json, not Zaius shapes. */
export const NATIVE_API_PREFIX = '/api/v1';

/** True for `/api/v1` and every path under it (query string ignored). */
export function isNativeApiPath(url: string | undefined): boolean {
  if (!url) return false;
  const path = url.split('?', 1)[0];
  return path === NATIVE_API_PREFIX || path.startsWith(`${NATIVE_API_PREFIX}/`);
}

/** The request path without its query string: the problem's `instance` (a query may carry values). */
export function requestPath(url: string | undefined): string {
  return (url ?? '/').split('?', 1)[0];
}
