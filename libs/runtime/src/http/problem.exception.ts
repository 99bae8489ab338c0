import { HttpException } from '@nestjs/common';
import { titleFor } from './api-problem.exception';

/** `errors[]` of a validation problem: the field (a JSON path into the body) and what is wrong with it. */
export interface ProblemFieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem types of the native API; `type` names the kind of error, `detail` this occurrence. */
export const PROBLEM_TYPES: Readonly<Record<number, string>> = {
  400: 'urn:tessera:problem:bad-request',
  401: 'urn:tessera:problem:unauthorized',
  403: 'urn:tessera:problem:forbidden',
  404: 'urn:tessera:problem:not-found',
  405: 'urn:tessera:problem:method-not-allowed',
  409: 'urn:tessera:problem:conflict',
  413: 'urn:tessera:problem:payload-too-large',
  415: 'urn:tessera:problem:unsupported-media-type',
  422: 'urn:tessera:problem:validation',
  429: 'urn:tessera:problem:rate-limited',
  500: 'urn:tessera:problem:internal',
  503: 'urn:tessera:problem:unavailable',
};

export function problemTypeFor(status: number): string {
  return PROBLEM_TYPES[status] ?? (status >= 500 ? PROBLEM_TYPES[500] : PROBLEM_TYPES[400]);
}

/** The body of every native-API error (DESIGN §12), served as `application/problem+json`. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: ProblemFieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * An error of the native API (`/api/v1`): answered as problem+json with `detail`; a 422 carries
 * `errors` naming the body fields. Query-string errors are 400 with `detail` naming the parameter.
 */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly detail: string,
    readonly extra: { errors?: ProblemFieldError[]; headers?: Record<string, string>; type?: string } = {},
  ) {
    super(detail, status);
  }

  static badParameter(name: string, message: string): ProblemException {
    return new ProblemException(400, `query parameter \`${name}\` ${message}`);
  }

  static notFound(detail: string): ProblemException {
    return new ProblemException(404, detail);
  }

  static validation(errors: ProblemFieldError[]): ProblemException {
    const detail = errors.length === 1 ? `\`${errors[0].field}\` ${errors[0].message}` : `${errors.length} fields are invalid`;
    return new ProblemException(422, detail, { errors });
  }
}

export function problemBody(status: number, detail: string, instance: string, errors?: ProblemFieldError[], type?: string): ProblemBody {
  return { type: type ?? problemTypeFor(status), title: titleFor(status), status, detail, instance, ...(errors ? { errors } : {}) };
}
