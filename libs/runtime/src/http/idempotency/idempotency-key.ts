/** The request header (IETF draft "The Idempotency-Key HTTP Header Field"). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on an answer that repeats the first answer to the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

export const INVALID_IDEMPOTENCY_KEY = 'Idempotency-Key header must be 1 to 255 printable ASCII characters (optionally in double quotes)';

const PRINTABLE = /^[\x20-\x7e]{1,255}$/;
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * The key a request presents: the header's value, or the string inside double quotes when the client
 * writes it as a structured-field string as the draft does (`"8e03978e-…"` and `8e03978e-…` are one
 * key). `undefined` when it is not 1–255 printable ASCII characters (or it is given twice).
 */
export function parseIdempotencyKey(header: string | string[]): string | undefined {
  if (typeof header !== 'string') return undefined;
  const quoted = SF_STRING.exec(header);
  const key = quoted ? quoted[1].replace(/\\(["\\])/g, '$1') : header;
  return PRINTABLE.test(key) ? key : undefined;
}
