import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, Optional } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, Observable, of, throwError } from 'rxjs';
import { IdempotencyRequestsRepository } from '@tessera/store';
import type { TesseraLogger } from '../../logger';
import { LOGGER } from '../../tokens';
import type { AuthenticatedRequest } from '../api-key.guard';
import { ApiProblemException } from '../api-problem.exception';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, INVALID_IDEMPOTENCY_KEY, parseIdempotencyKey } from './idempotency-key';
import { idempotentRoute } from './idempotent-routes';
import { requestFingerprint } from './request-fingerprint';

/** Expired rows are ignored anyway; each process deletes them at most this often. */
const PURGE_EVERY_MS = 10 * 60_000;

interface Claimed {
  tenant: string;
  key: string;
  token: string;
}

/**
 * The `Idempotency-Key` request header on the routes of IDEMPOTENT_ROUTES (DESIGN §10). Runs after the
 * API-key guard (keys are per tenant; a bad API key is still a 403). First use: the request runs and a
 * 2xx answer is kept; any other answer forgets the key so the client may retry with it. A repeat with
 * the same route and body gets the kept answer again (nothing published), marked `Idempotent-Replayed`;
 * with another body → 422; while the first is still running → 409.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private nextPurgeAt = 0;

  constructor(
    private readonly requests: IdempotencyRequestsRepository,
    @Optional() @Inject(LOGGER) private readonly logger?: TesseraLogger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest & AuthenticatedRequest>();
    const route = idempotentRoute(request.method, request.routeOptions?.url);
    const header = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (!route || header === undefined || !request.principal) return next.handle();
    const key = parseIdempotencyKey(header);
    if (key === undefined) throw new ApiProblemException(400, { message: INVALID_IDEMPOTENCY_KEY });
    const tenant = request.principal.tenant;
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return from(this.requests.claim(tenant, key, requestFingerprint(route, request.body))).pipe(
      mergeMap((claim) => {
        switch (claim.outcome) {
          case 'claimed':
            this.purgeExpiredNow();
            return this.answerAndKeep(next, reply, { tenant, key, token: claim.token });
          case 'replay':
            reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
            return of(claim.response);
          case 'different-request':
            throw new ApiProblemException(422, { message: `Idempotency-Key ${JSON.stringify(key)} was used with a different request body; send a new key with a new request` });
          case 'in-flight':
            throw new ApiProblemException(
              409,
              { message: `A request with Idempotency-Key ${JSON.stringify(key)} is still being processed; retry once it is answered` },
              { 'Retry-After': '1' },
            );
        }
      }),
    );
  }

  /** Runs the request; keeps a 2xx answer, forgets the key on anything else (the error still reaches the client). */
  private answerAndKeep(next: CallHandler, reply: FastifyReply, claimed: Claimed): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => from(this.release(claimed)).pipe(mergeMap(() => throwError(() => error)))),
      mergeMap(async (body) => {
        const status = reply.statusCode;
        if (status < 200 || status > 299) {
          await this.release(claimed);
          return body;
        }
        try {
          // Before answering: a retry that follows the answer finds it kept (not in flight).
          await this.requests.complete(claimed.tenant, claimed.key, claimed.token, status, body);
        } catch (error) {
          // The records are published: the client gets its 2xx. The key stays in flight until the abandon bound.
          this.logger?.error({ err: error }, 'could not keep the answer of an Idempotency-Key request');
        }
        return body;
      }),
    );
  }

  private async release(claimed: Claimed): Promise<void> {
    try {
      await this.requests.release(claimed.tenant, claimed.key, claimed.token);
    } catch (error) {
      // The key stays in flight until the abandon bound; the original error is what the client needs.
      this.logger?.warn({ err: error }, 'could not release an Idempotency-Key after a failed request');
    }
  }

  private purgeExpiredNow(): void {
    const now = Date.now();
    if (now < this.nextPurgeAt) return;
    this.nextPurgeAt = now + PURGE_EVERY_MS;
    this.requests.purgeExpired().catch((error: unknown) => this.logger?.warn({ err: error }, 'could not purge expired Idempotency-Key rows'));
  }
}
