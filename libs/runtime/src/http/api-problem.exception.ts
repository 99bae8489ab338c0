import { HttpException } from '@nestjs/common';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request');
}

export type ProblemDetail = { message: string } | { invalids: Array<{ event: number; message: string }> };

/** An error answered in Zaius's shape: `{title, status, timestamp, detail?}` (DESIGN §3). */
export class ApiProblemException extends HttpException {
  constructor(
    status: number,
    readonly detail?: ProblemDetail,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail && 'message' in detail ? detail.message : titleFor(status), status);
  }
}

/**
 * Why the API-key guard refused a request: no key, a key it does not know (or revoked), a key of a
 * kind the route does not admit, or a route that declares no access policy.
 */
export type ApiKeyRefusal = 'missing' | 'unknown' | 'insufficient' | 'undeclared';

/**
 * A refused key. /v3 answers 403 `{"message":"Forbidden"}` whatever the reason (DESIGN §3); the
 * native API answers 401 for a missing or unknown key and 403 for an insufficient one (DESIGN §12).
 */
export class ForbiddenApiKeyException extends HttpException {
  constructor(readonly refusal: ApiKeyRefusal = 'insufficient') {
    super({ message: 'Forbidden' }, 403);
  }
}
