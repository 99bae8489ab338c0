import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import type { ConsumeOptions, ConsumerHandle, EventLog, RecordBatch } from '../event-log.port';
import { AssignedPartition, ConsumerGroupContext, RecordBatchContext } from './record-batch.context';
import { ANY_OTHER_SCHEMA, BATCH_PREPARER, CHECKPOINT_SOURCE, EVENT_LOG_TRANSPORT, RECORD_BATCH_ROUTE, RecordBatchRoute } from './record-batch-pattern.decorator';
import { RecordRun, splitIntoRuns } from './record-runs';

export interface EventLogTransportLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export interface ConsumerGroupOptions {
  /** Upper bound on records per delivered batch. Default: the transport's maxBatchRecords. */
  maxBatchRecords?: number;
  /** Where a partition starts when neither the checkpoint source nor the group has an offset. Default true. */
  fromBeginning?: boolean;
}

export interface EventLogTransportOptions {
  eventLog: EventLog;
  logger: EventLogTransportLogger;
  /** Default upper bound on records per batch for every group. Default: the log's (1000). */
  maxBatchRecords?: number;
  /** Per-group settings, by group id. */
  groups?: Record<string, ConsumerGroupOptions>;
}

export type EventLogTransportStatus = 'connecting' | 'connected' | 'fatal' | 'disconnected';

export type EventLogTransportEvents = {
  /** A group member stopped for good (the engine will not restart it): the process should exit non-zero. */
  fatal: (error: Error, group: string) => void;
};

/** A record whose schema no handler of its group declares, with no fallback on its topic. */
export class UnroutableRecordError extends Error {
  constructor(readonly group: string, readonly topic: string, readonly partition: number, readonly offset: number, readonly schema: string | undefined) {
    super(
      `consumer group ${group} has no handler for schema ${schema === undefined ? '(no schema header)' : JSON.stringify(schema)} ` +
        `on ${topic}[${partition}] at offset ${offset}: the partition waits here until a version that handles it runs ` +
        `(or the group declares a fallback with schema '${ANY_OTHER_SCHEMA}')`,
    );
    this.name = 'UnroutableRecordError';
  }
}

export interface EventLogTransportHealth {
  healthy: boolean;
  status: EventLogTransportStatus | 'idle';
  /** Set once a group stopped for good. */
  fatal?: { group: string; error: string };
  /** Partitions held at a record no handler takes (they never move on by themselves). */
  stalled: Array<{ group: string; topic: string; partition: number; offset: number; schema: string | undefined }>;
}

interface TopicRoutes {
  bySchema: Map<string, MessageHandler>;
  fallback?: MessageHandler;
  /** Schema of records without a schema header (a handler declared acceptsMissingHeader). */
  schemaWhenMissing?: string;
}

interface GroupRoutes {
  group: string;
  topics: Map<string, TopicRoutes>;
  checkpointSource?: MessageHandler;
  preparer?: MessageHandler;
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Errors reach the transport as thrown (see RethrowToTransport); anything else still becomes an Error. */
function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  let text: string;
  try {
    text = typeof e === 'string' ? e : JSON.stringify(e);
  } catch {
    text = String(e);
  }
  return new Error(`handler failed: ${text}`);
}

/** Awaits a Nest handler's result, which is a value, a promise, or an observable (errors included). */
async function settle<T>(result: Promise<unknown>): Promise<T> {
  try {
    const value = await result;
    return (isObservable(value) ? await lastValueFrom(value, { defaultValue: undefined }) : value) as T;
  } catch (error) {
    throw asError(error);
  }
}

/**
 * Nest microservice transport over the EventLog port (DESIGN §6, §9). Handlers are declared with
 * `@RecordBatchPattern({ group, topic, schema })`; the transport starts one EventLog member per group,
 * for all the topics its handlers name, and routes every delivered partition batch by the records'
 * `schema` header: consecutive records of one kind go to that kind's handler, runs in offset order.
 * Group membership, batches per partition, commits after success, redelivery after failure and the
 * checkpoint rules stay the log's (the `@CheckpointSource` of a group answers `resolveStartOffset`).
 *
 * A record of a kind the group does not handle goes to the group's fallback on that topic
 * (`schema: ANY_OTHER_SCHEMA`) if it declares one; otherwise its batch fails with UnroutableRecordError
 * and is redelivered, so the partition waits at that record (never skipped silently) and health says so.
 */
export class EventLogTransport extends Server<EventLogTransportEvents, EventLogTransportStatus> implements CustomTransportStrategy {
  private readonly eventLog: EventLog;
  private readonly log: EventLogTransportLogger;
  private readonly consumers = new Map<string, ConsumerHandle>();
  private readonly fatalListeners: Array<EventLogTransportEvents['fatal']> = [];
  private readonly stalled = new Map<string, EventLogTransportHealth['stalled'][number]>();
  private current: EventLogTransportStatus | 'idle' = 'idle';
  private fatal?: { group: string; error: Error };
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: EventLogTransportOptions) {
    super();
    this.eventLog = options.eventLog;
    this.log = options.logger;
    this.transportId = EVENT_LOG_TRANSPORT;
  }

  /** Called by Nest (startAllMicroservices / listen) once the handlers are registered. */
  listen(callback: (error?: unknown) => void): void {
    this.starting = this.startConsumers();
    this.starting.then(
      () => callback(),
      (error) => callback(error),
    );
  }

  /** Stops every group member: each lets its in-flight batch finish and commit. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.stopConsumers();
    return this.closing;
  }

  on<K extends keyof EventLogTransportEvents>(event: K, callback: EventLogTransportEvents[K]): void {
    if (event !== 'fatal') throw new Error(`EventLogTransport has no event ${String(event)}`);
    this.fatalListeners.push(callback);
  }

  /** The group members, by group id. */
  unwrap<T = ReadonlyMap<string, ConsumerHandle>>(): T {
    return this.consumers as T;
  }

  /** For readiness: unhealthy once a group stopped for good or a partition waits at a record no handler takes. */
  health(): EventLogTransportHealth {
    const stalled = [...this.stalled.values()].filter((s) => this.owns(s.group, s.topic, s.partition));
    return {
      healthy: this.fatal === undefined && stalled.length === 0 && this.current !== 'disconnected',
      status: this.current,
      ...(this.fatal ? { fatal: { group: this.fatal.group, error: this.fatal.error.message } } : {}),
      stalled,
    };
  }

  isHealthy(): boolean {
    return this.health().healthy;
  }

  /** Readiness check: returns while healthy, throws naming the problem otherwise. */
  check(): void {
    const health = this.health();
    if (health.healthy) return;
    const problems = [
      ...(health.fatal ? [`group ${health.fatal.group} stopped for good: ${health.fatal.error}`] : []),
      ...health.stalled.map((s) => `group ${s.group} waits at ${s.topic}[${s.partition}]@${s.offset}: no handler for schema ${s.schema ?? '(none)'}`),
      ...(health.status === 'disconnected' ? ['not consuming (closed)'] : []),
    ];
    throw new Error(problems.join('; '));
  }

  /** A partition handed to another member is that member's to report. */
  private owns(group: string, topic: string, partition: number): boolean {
    const assigned = this.consumers.get(group)?.assignments() ?? [];
    return assigned.some((a) => a.topic === topic && a.partitions.includes(partition));
  }

  // ---------------------------------------------------------------- start and stop

  private async startConsumers(): Promise<void> {
    const groups = this.routesFromHandlers();
    this.setStatus('connecting');
    try {
      for (const routes of groups.values()) {
        if (this.closing) break;
        const handle = await this.eventLog.consume(this.consumeOptions(routes));
        this.consumers.set(routes.group, handle);
        this.log.info('event-log transport: consuming', { group: routes.group, topics: [...routes.topics.keys()] });
      }
    } catch (error) {
      await this.stopHandles();
      throw error;
    }
    if (!this.closing && !this.fatal) this.setStatus('connected');
  }

  private async stopConsumers(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.stopHandles();
  }

  private async stopHandles(): Promise<void> {
    const handles = [...this.consumers.values()];
    this.consumers.clear();
    await Promise.all(handles.map((h) => h.stop()));
    if (this.current !== 'fatal') this.setStatus('disconnected');
  }

  private consumeOptions(routes: GroupRoutes): ConsumeOptions {
    const settings = this.options.groups?.[routes.group] ?? {};
    const maxBatchRecords = settings.maxBatchRecords ?? this.options.maxBatchRecords;
    const source = routes.checkpointSource;
    return {
      groupId: routes.group,
      topics: [...routes.topics.keys()],
      fromBeginning: settings.fromBeginning ?? true,
      ...(maxBatchRecords !== undefined ? { maxBatchRecords } : {}),
      ...(source ? { resolveStartOffset: (topic: string, partition: number) => this.startOffset(routes.group, source, { topic, partition }) } : {}),
      handleBatch: (batch) => this.dispatch(routes, batch),
      // A group that prepares batches also says when the next one is read (RecordBatch.readAhead).
      ...(routes.preparer ? { prepareBatch: (batch: RecordBatch) => this.prepare(routes.group, routes.preparer!, batch), readAheadOnRequest: true } : {}),
      onFatal: (error) => this.onFatal(routes.group, error),
    };
  }

  // ---------------------------------------------------------------- routing

  /** Reads the declared handlers into routes per group and checks them (a mistake fails start-up, not a batch). */
  private routesFromHandlers(): Map<string, GroupRoutes> {
    const groups = new Map<string, GroupRoutes>();
    const groupOf = (group: string) => {
      let routes = groups.get(group);
      if (!routes) groups.set(group, (routes = { group, topics: new Map() }));
      return routes;
    };
    const sources = new Map<string, MessageHandler>();
    const preparers = new Map<string, MessageHandler>();
    for (const [pattern, handler] of this.getHandlers()) {
      const route = handler.extras?.[RECORD_BATCH_ROUTE] as RecordBatchRoute | undefined;
      const source = handler.extras?.[CHECKPOINT_SOURCE] as { group: string } | undefined;
      const preparer = handler.extras?.[BATCH_PREPARER] as { group: string } | undefined;
      if (source) {
        sources.set(source.group, handler);
        continue;
      }
      if (preparer) {
        preparers.set(preparer.group, handler);
        continue;
      }
      if (!route) throw new Error(`EventLogTransport: handler ${pattern} is not a @RecordBatchPattern`);
      const schemas = typeof route.schema === 'string' ? [route.schema] : route.schema;
      if (handler.next) throw new Error(`EventLogTransport: two handlers for ${route.group} / ${route.topic} / ${schemas.join(',')}; declare one`);
      const group = groupOf(route.group);
      let topic = group.topics.get(route.topic);
      if (!topic) group.topics.set(route.topic, (topic = { bySchema: new Map() }));
      for (const schema of schemas) {
        if (schema === ANY_OTHER_SCHEMA) topic.fallback = handler;
        else if (topic.bySchema.has(schema)) throw new Error(`EventLogTransport: two handlers for ${route.group} / ${route.topic} / ${schema}; declare one`);
        else topic.bySchema.set(schema, handler);
      }
      if (route.acceptsMissingHeader) {
        if (topic.schemaWhenMissing !== undefined && topic.schemaWhenMissing !== schemas[0]) {
          throw new Error(`EventLogTransport: group ${route.group} on ${route.topic}: records without a schema header claimed by ${topic.schemaWhenMissing} and ${schemas[0]}`);
        }
        if (schemas[0] === ANY_OTHER_SCHEMA) throw new Error(`EventLogTransport: a fallback cannot claim records without a schema header (group ${route.group})`);
        topic.schemaWhenMissing = schemas[0];
      }
    }
    for (const [group, handler] of sources) {
      const routes = groups.get(group);
      if (!routes) throw new Error(`EventLogTransport: @CheckpointSource(${group}) names a group without @RecordBatchPattern handlers`);
      routes.checkpointSource = handler;
    }
    for (const [group, handler] of preparers) {
      const routes = groups.get(group);
      if (!routes) throw new Error(`EventLogTransport: @RecordBatchPreparer(${group}) names a group without @RecordBatchPattern handlers`);
      routes.preparer = handler;
    }
    for (const group of Object.keys(this.options.groups ?? {})) {
      if (!groups.has(group)) throw new Error(`EventLogTransport: settings given for group ${group}, which has no handlers`);
    }
    if (groups.size === 0) throw new Error('EventLogTransport: no @RecordBatchPattern handlers are registered');
    return groups;
  }

  /** One delivered partition batch: its runs, in offset order, each to its handler. A throw fails the whole batch. */
  private async dispatch(routes: GroupRoutes, batch: RecordBatch): Promise<void> {
    const topic = routes.topics.get(batch.topic);
    if (!topic) throw new Error(`EventLogTransport: group ${routes.group} got a batch of ${batch.topic}, which none of its handlers names`);
    const runs = splitIntoRuns(batch, topic.schemaWhenMissing);
    for (let i = 0; i < runs.length; ) {
      const handler = this.handlerFor(routes.group, topic, runs[i]!);
      // Consecutive runs of kinds one handler declares go to it in one call (one transaction, one order);
      // a fallback gets each kind's run on its own (it learns the kind from the context).
      const declared = (run: RecordRun) => (run.schema !== undefined ? topic.bySchema.get(run.schema) : undefined);
      let end = i + 1;
      if (declared(runs[i]!) === handler) while (end < runs.length && declared(runs[end]!) === handler) end++;
      const run = end === i + 1 ? runs[i]! : { schema: runs[i]!.schema, batch: { ...runs[i]!.batch, records: runs.slice(i, end).flatMap((r) => r.batch.records) } };
      await settle(handler(run.batch, new RecordBatchContext([routes.group, run.schema, batch])));
      i = end;
    }
    if (this.stalled.size > 0) this.stalled.delete(`${routes.group}\u0000${batch.topic}\u0000${batch.partition}`);
  }

  private handlerFor(group: string, topic: TopicRoutes, run: RecordRun): MessageHandler {
    const handler = (run.schema !== undefined ? topic.bySchema.get(run.schema) : undefined) ?? topic.fallback;
    if (handler) return handler;
    const { topic: name, partition, records } = run.batch;
    const error = new UnroutableRecordError(group, name, partition, records[0]!.offset, run.schema);
    const key = `${group}\u0000${name}\u0000${partition}`;
    if (!this.stalled.has(key)) this.log.error('event-log transport: record kind not handled; the partition waits', { group, topic: name, partition, offset: error.offset, schema: run.schema });
    this.stalled.set(key, { group, topic: name, partition, offset: error.offset, schema: run.schema });
    throw error;
  }

  /** A batch read ahead, to the group's @RecordBatchPreparer. Only an optimisation: handlers do the work themselves, so a failure is ignored. */
  private prepare(group: string, preparer: MessageHandler, batch: RecordBatch): void {
    settle(preparer(batch, new ConsumerGroupContext([group]))).catch(() => undefined);
  }

  private async startOffset(group: string, source: MessageHandler, partition: AssignedPartition): Promise<number | undefined> {
    const offset = await settle<unknown>(source(partition, new ConsumerGroupContext([group])));
    if (offset === undefined || offset === null) return undefined;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new Error(`EventLogTransport: checkpoint source of ${group} returned ${String(offset)} for ${partition.topic}[${partition.partition}]; expected a non-negative integer or undefined`);
    }
    return offset;
  }

  // ---------------------------------------------------------------- fatal

  private onFatal(group: string, error: Error): void {
    this.log.error('event-log transport: a consumer group member stopped for good; the process must restart', { group, error: describe(error) });
    this.fatal ??= { group, error };
    this.setStatus('fatal');
    for (const listener of this.fatalListeners) {
      try {
        listener(error, group);
      } catch (e) {
        this.log.error('event-log transport: fatal listener failed', { group, error: describe(e) });
      }
    }
  }

  private setStatus(status: EventLogTransportStatus): void {
    this.current = status;
    this._status$.next(status);
  }
}
