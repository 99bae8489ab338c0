import type { FastifyInstance } from 'fastify';
import { readOperationOf, routeLabel } from './metric-labels';
import type { TesseraMetrics } from './tessera-metrics';

/**
 * One onResponse hook times every answer (Fastify's own `reply.elapsedTime`, from the request's
 * arrival) by method, route template and status; profile reads are observed a second time under their
 * operation name. No per-request allocation beyond the label object.
 */
export function registerHttpMetrics(fastify: FastifyInstance, metrics: TesseraMetrics): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    const route = routeLabel(request.routeOptions.url);
    const status = String(reply.statusCode);
    metrics.httpRequestDuration.observe({ method: request.method, route, status }, seconds);
    const operation = readOperationOf(request.method, route);
    if (operation) metrics.profileReadDuration.observe({ operation, status }, seconds);
    done();
  });
}
