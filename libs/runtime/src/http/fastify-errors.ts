import { titleFor } from './api-problem.exception';

/** Fastify's own errors (body parsing, limits) mapped to their status; undefined for anything else. */
export function fastifyStatus(error: { code?: string; statusCode?: number }): number | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 415;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 413;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 400;
    default:
      return error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : undefined;
  }
}

/** A safe message for a Fastify error of that status (never a stack or an internal name). */
export function fastifyMessage(error: { code?: string; message?: string }, status: number): string {
  if (status === 413) return 'Request body is larger than the limit';
  // fastify's own 415 names the type it got; the answer names the one to send.
  if (status === 415 && !/^Content-Type must be/.test(error.message ?? '')) return 'Content-Type must be application/json';
  return error.message ?? titleFor(status);
}
