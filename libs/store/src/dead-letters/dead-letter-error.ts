/** The header naming a record's dead letter: set on the DLQ record and on its copy re-published by `dlq retry`. */
export const DEAD_LETTER_ID_HEADER = 'dead-letter-id';

export const DEAD_LETTER_STATES = ['new', 'retried', 'resolved', 'discarded'] as const;
export type DeadLetterState = (typeof DEAD_LETTER_STATES)[number];

// From the first double quote to the last (quoted input may itself hold quotes), and single-quoted tokens.
const DOUBLE_QUOTED = /"[\s\S]*("|$)/;
const SINGLE_QUOTED = /'[^']*'/g;

/**
 * An error message fit for logs and the dead_letters table: quoted fragments are cut out, because
 * JSON.parse and PostgreSQL quote the offending input ("… is not valid JSON", `invalid input syntax:
 * "…"`), and that input is the record's personal data. Attribute names (in backticks) stay.
 */
export function errorWithoutValues(message: string, maxLength = 1000): string {
  return message.replace(DOUBLE_QUOTED, '"…"').replace(SINGLE_QUOTED, "'…'").slice(0, maxLength);
}

export function isDeadLetterState(value: string): value is DeadLetterState {
  return (DEAD_LETTER_STATES as readonly string[]).includes(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A dead letter id (a UUID); a header that is not one is ignored rather than failing the batch. */
export function isDeadLetterId(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
