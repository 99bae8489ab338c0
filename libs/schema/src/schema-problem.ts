import { ApiProblemException, type ProblemDetail } from '@tessera/runtime';
import { SchemaRequestError } from './schema-request.error';

/** Runs a schema request; a refused one is answered in Zaius's shapes (`detail.invalids` of `{field, reason}`, or `detail.message`). */
export async function answerSchema<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof SchemaRequestError)) throw error;
    // ODP's schema errors name fields, not item indexes: `{field, reason}` (ProblemDetail types only `{event, message}`).
    const detail = (error.invalids ? { invalids: error.invalids } : { message: error.message }) as unknown as ProblemDetail;
    throw new ApiProblemException(error.status, detail);
  }
}
