import { applyDecorators, ArgumentsHost, Catch, RpcExceptionFilter, UseFilters } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { Observable, throwError } from 'rxjs';

/** Transport id of the EventLog transport: handlers declared with the decorators below bind to it only. */
export const EVENT_LOG_TRANSPORT = Symbol('EventLogTransport');

/** `schema` of a group's fallback handler on a topic: every record kind no other handler of the group declares. */
export const ANY_OTHER_SCHEMA = '*';

export interface RecordBatchRoute {
  /** Consumer group: one EventLog member per group, with all the topics its handlers name. */
  group: string;
  topic: string;
  /**
   * Value(s) of the record's `schema` header this handler takes, or ANY_OTHER_SCHEMA for the group's
   * fallback. A handler of several kinds gets consecutive records of all of them in one call (one order).
   */
  schema: string | readonly string[];
  /** Records of `topic` without a schema header are of this handler's (first) schema (records written before the header existed). */
  acceptsMissingHeader?: boolean;
}

/** Extras keys under which the transport finds the declarations (Nest keeps them on the registered handler). */
export const RECORD_BATCH_ROUTE = 'tessera.recordBatchRoute';
export const CHECKPOINT_SOURCE = 'tessera.checkpointSource';
export const BATCH_PREPARER = 'tessera.batchPreparer';

/**
 * Hands handler errors to the transport as they were thrown. Nest's default RPC filter would replace
 * them with `{status:'error', message:'Internal server error'}`, and the log adapters and the projector
 * need the real error (retriable or not, and its message in the redelivery log line).
 */
@Catch()
class RethrowToTransport implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
const RETHROW = new RethrowToTransport();

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

/**
 * Declares a handler of one record kind for one consumer group (DESIGN §9): it receives the records of
 * one partition batch whose `schema` header is `schema`, as a RecordBatch (`@Payload()`), plus a
 * RecordBatchContext (`@Ctx()`). A batch holding several kinds is split into runs of consecutive records
 * and the runs are handled in offset order, one at a time. Resolving means the run is applied; throwing
 * stops the batch: nothing is committed and the log redelivers it, runs already handled included.
 * Handlers of one group share its checkpoint, so each must be idempotent on redelivery and account for
 * its whole run (a run starts where the previous one ended).
 */
export function RecordBatchPattern(route: RecordBatchRoute): MethodDecorator {
  const schemas = typeof route.schema === 'string' ? [route.schema] : [...route.schema];
  if (schemas.length === 0) throw new TypeError('schema must name at least one record kind');
  const declared: RecordBatchRoute = {
    group: nonEmpty('group', route.group),
    topic: nonEmpty('topic', route.topic),
    schema: schemas.map((s) => nonEmpty('schema', s)),
    acceptsMissingHeader: route.acceptsMissingHeader === true,
  };
  const pattern = { kind: 'record-batch', group: declared.group, topic: declared.topic, schema: schemas.join(',') };
  return applyDecorators(EventPattern(pattern, EVENT_LOG_TRANSPORT, { [RECORD_BATCH_ROUTE]: declared }), UseFilters(RETHROW));
}

/**
 * Declares where a group resumes a partition it has just been assigned: the handler gets an
 * AssignedPartition and returns the next offset from the application's own checkpoint, or undefined
 * (then the log uses the group's committed offset, then the beginning). Optional: without it the log's
 * group offsets alone decide.
 */
export function CheckpointSource(group: string): MethodDecorator {
  const pattern = { kind: 'checkpoint-source', group: nonEmpty('group', group) };
  return applyDecorators(MessagePattern(pattern, EVENT_LOG_TRANSPORT, { [CHECKPOINT_SOURCE]: { group } }), UseFilters(RETHROW));
}

/**
 * Declares what a group does with a batch the log has read ahead, while the batch before it is still
 * being handled (the Postgres log reads the next batch during the handling of one): CPU work on it — such
 * as decoding — that then overlaps the handler's waits for I/O. The handler gets the RecordBatch and
 * returns nothing; it must not throw (what it throws is ignored) and must not change the batch, which the
 * group's @RecordBatchPattern handlers get as usual afterwards — or never (partition handed over, batch
 * before failed). Optional.
 */
export function RecordBatchPreparer(group: string): MethodDecorator {
  const pattern = { kind: 'record-batch-preparer', group: nonEmpty('group', group) };
  return applyDecorators(EventPattern(pattern, EVENT_LOG_TRANSPORT, { [BATCH_PREPARER]: { group } }));
}
