/** Cursors of the native API are base64url JSON objects the route made; anything else is not one. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeCursorToken(fields: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
}

/** The cursor's JSON object, or undefined when `raw` is empty, too long, not base64url or not a JSON object. Never throws. */
export function decodeCursorToken(raw: string, maxLength: number): Record<string, unknown> | undefined {
  if (raw.length === 0 || raw.length > maxLength || !BASE64URL.test(raw)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}
