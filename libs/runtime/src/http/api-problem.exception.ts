import { HttpException } from '@nestjs/common';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
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

/** 403 `{"message":"Forbidden"}` — the same for a missing, unknown or insufficient key. */
export class ForbiddenApiKeyException extends HttpException {
  constructor() {
    super({ message: 'Forbidden' }, 403);
  }
}
