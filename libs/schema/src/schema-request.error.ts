import { isWellFormedText } from '@tessera/contracts';

/** One refused field of a schema request, as ODP answers it: `{"field": "name", "reason": "…"}`. */
export interface SchemaInvalid {
  field: string;
  reason: string;
}

/** ODP's reason when a name is taken (by an identifier type, a field or a reserved attribute name). */
export const NAME_IN_USE = 'already used by another object';

/**
 * A refused schema request, independent of the transport: the HTTP controllers answer it in Zaius's
 * shapes (400 `detail.invalids` / `detail.message`, 404), the CLI as an exit code.
 */
export class SchemaRequestError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
    /** The refused fields (400 only); absent for a body that is not an object at all. */
    readonly invalids?: SchemaInvalid[],
  ) {
    super(invalids?.length ? invalids.map((i) => `${i.field}: ${i.reason}`).join('; ') : message);
    this.name = 'SchemaRequestError';
  }

  static invalid(invalids: SchemaInvalid[]): SchemaRequestError {
    return new SchemaRequestError(400, 'invalid request', invalids);
  }
}

const MAX_TEXT = 255;
const MAX_DESCRIPTION = 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why a display name / description is refused, or null. */
export function textProblem(value: unknown, required: boolean, max = MAX_TEXT): string | null {
  if (value === undefined || value === null) return required ? 'is required' : null;
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || CONTROL.test(value) || !isWellFormedText(value)) {
    return `must be a non-empty string of at most ${max} characters without control characters`;
  }
  return null;
}

export const descriptionProblem = (value: unknown) => textProblem(value, false, MAX_DESCRIPTION);

/** A plain JSON object (what JSON.parse makes of `{…}`). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `{field, reason}` for every key the body has beyond `allowed`. */
export function unknownFields(body: Record<string, unknown>, allowed: readonly string[], what: string): SchemaInvalid[] {
  return Object.keys(body)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ field: JSON.stringify(k).slice(1, -1).slice(0, 80), reason: `is not a field of ${what} (${allowed.join(', ')})` }));
}
