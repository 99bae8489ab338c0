import 'reflect-metadata';
import { Controller, INestMicroservice, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import type { ConsumeOptions, EventLog, LogRecordInput, RecordBatch } from '../event-log.port';
import { PostgresEventLog } from '../postgres/postgres-event-log';
import { createPostgresLogTestDb, PostgresLogTestDb } from '../postgres/testing/postgres-log-test-db';
import { EventLogTransport, UnroutableRecordError } from './event-log.transport';
import { ANY_OTHER_SCHEMA, CheckpointSource, RecordBatchPattern, RecordBatchPreparer } from './record-batch-pattern.decorator';
import { AssignedPartition, RecordBatchContext } from './record-batch.context';

// The transport on a real engine: the Postgres log on the test database, one partition, fast redelivery.
const TOPIC = 'transport.records.v1';
const MAIN = 'test.main';
const FEED = 'test.feed';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Call {
  handler: string;
  group: string;
  schema: string | undefined;
  offsets: number[];
  delivered: number[];
}

/** What the handlers saw and how they behave, shared by the test and the controllers. */
class Probe {
  calls: Call[] = [];
  startOffset: number | undefined = undefined;
  /** Throws when it returns an error for a call (the call is still recorded). */
  failWhen: (call: Call, attempt: number) => Error | undefined = () => undefined;
  /** Handlers of the gated groups wait until release(). */
  gated = new Set<string>();
  release: () => void = () => undefined;
  private gate = new Promise<void>((r) => (this.release = r));

  async record(handler: string, batch: RecordBatch, context: RecordBatchContext): Promise<void> {
    const call: Call = {
      handler,
      group: context.getGroup(),
      schema: context.getSchema(),
      offsets: batch.records.map((r) => r.offset),
      delivered: context.getDeliveredBatch().records.map((r) => r.offset),
    };
    this.calls.push(call);
    if (this.gated.has(call.group)) await this.gate;
    const error = this.failWhen(call, this.calls.filter((c) => c.handler === handler && c.offsets[0] === call.offsets[0]).length);
    if (error) throw error;
  }

  seen(group: string, handler?: string): number[] {
    return this.calls.filter((c) => c.group === group && (!handler || c.handler === handler)).flatMap((c) => c.offsets);
  }
}
const probe = new Probe();

@Controller()
class MainGroup {
  @CheckpointSource(MAIN)
  startOffset(@Payload() _assigned: AssignedPartition) {
    return probe.startOffset;
  }

  @RecordBatchPattern({ group: MAIN, topic: TOPIC, schema: 'upsert.v1', acceptsMissingHeader: true })
  upserts(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('upsert', batch, context);
  }

  @RecordBatchPattern({ group: MAIN, topic: TOPIC, schema: 'event.v1' })
  events(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('event', batch, context);
  }
}

@Controller()
class FeedGroup {
  @RecordBatchPattern({ group: FEED, topic: TOPIC, schema: 'upsert.v1' })
  upserts(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('feed-upsert', batch, context);
  }

  @RecordBatchPattern({ group: FEED, topic: TOPIC, schema: ANY_OTHER_SCHEMA })
  others(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('feed-other', batch, context);
  }
}

const ALL = 'test.all';

@Controller()
class AllKindsGroup {
  @RecordBatchPattern({ group: ALL, topic: TOPIC, schema: ['upsert.v1', 'event.v1'], acceptsMissingHeader: true })
  kinds(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('all', batch, context);
  }
}

@Controller()
class SecondUpsertHandler {
  @RecordBatchPattern({ group: MAIN, topic: TOPIC, schema: 'upsert.v1' })
  upserts(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('again', batch, context);
  }
}

const PREPARED = 'test.prepared';
/** Batches the preparer saw, each with the offsets handled (by the batch handler) by then. */
const prepared: Array<{ offsets: number[]; handledBefore: number[] }> = [];

@Controller()
class PreparedGroup {
  @RecordBatchPreparer(PREPARED)
  prepare(@Payload() batch: RecordBatch) {
    prepared.push({ offsets: batch.records.map((r) => r.offset), handledBefore: probe.seen(PREPARED) });
    if (batch.records[0]!.offset === 100) throw new Error('a preparer failure is ignored');
  }

  @RecordBatchPattern({ group: PREPARED, topic: TOPIC, schema: 'upsert.v1' })
  upserts(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    batch.readAhead!(); // as the projector does once its load is sent
    return probe.record('prepared-upsert', batch, context);
  }
}

const PREPARED_UNASKED = 'test.prepared-unasked';
/** Batches this group's preparer saw: first offset, and the offsets handled by then. */
const preparedUnasked: Array<{ first: number; handledBefore: number[] }> = [];

@Controller()
class PreparedGroupNeverAsking {
  @RecordBatchPreparer(PREPARED_UNASKED)
  prepare(@Payload() batch: RecordBatch) {
    preparedUnasked.push({ first: batch.records[0]!.offset, handledBefore: probe.seen(PREPARED_UNASKED) });
  }

  @RecordBatchPattern({ group: PREPARED_UNASKED, topic: TOPIC, schema: 'upsert.v1' })
  upserts(@Payload() batch: RecordBatch, @Ctx() context: RecordBatchContext) {
    return probe.record('unasked-upsert', batch, context);
  }
}

/** The real log, except that the test can fire the member's onFatal as an engine that gave up would. */
class FatalSwitchLog implements EventLog {
  readonly engine: string;
  readonly fatal = new Map<string, (error: Error) => void>();
  constructor(private readonly inner: EventLog) {
    this.engine = inner.engine;
  }
  consume(options: ConsumeOptions) {
    if (options.onFatal) this.fatal.set(options.groupId, options.onFatal);
    return this.inner.consume(options);
  }
  ensureTopics: EventLog['ensureTopics'] = (t) => this.inner.ensureTopics(t);
  produce: EventLog['produce'] = (t, r) => this.inner.produce(t, r);
  seek: EventLog['seek'] = (g, t, to) => this.inner.seek(g, t, to);
  endOffsets: EventLog['endOffsets'] = (t) => this.inner.endOffsets(t);
  lag: EventLog['lag'] = (g, t) => this.inner.lag(g, t);
  scan: EventLog['scan'] = (t, h, o) => this.inner.scan(t, h, o);
  redact: EventLog['redact'] = (t, r) => this.inner.redact(t, r);
  ping: EventLog['ping'] = () => this.inner.ping();
  close: EventLog['close'] = () => this.inner.close();
}

let db: PostgresLogTestDb;
let log: PostgresEventLog;
let app: INestMicroservice | undefined;

beforeEach(async () => {
  Object.assign(probe, new Probe());
  db = await createPostgresLogTestDb('transport');
  log = new PostgresEventLog({ pool: db.pool, connectionString: db.url, logger: silent, handlerRetry: { initialMs: 300, maxMs: 300 } });
  await log.ensureTopics([{ name: TOPIC, partitions: 1 }]);
});

afterEach(async () => {
  probe.release();
  await app?.close();
  app = undefined;
  await log.close();
  await db.drop();
});

async function start(controllers: Type[], eventLog: EventLog = log): Promise<EventLogTransport> {
  @Module({ controllers })
  class TestModule {}
  const transport = new EventLogTransport({ eventLog, logger: silent, maxBatchRecords: 100 });
  app = await NestFactory.createMicroservice(TestModule, { strategy: transport, logger: false });
  await app.listen();
  return transport;
}

function records(...schemas: Array<string | undefined>): LogRecordInput[] {
  return schemas.map((schema, i): LogRecordInput => ({ key: 'k', value: `r${i}`, headers: schema === undefined ? {} : { schema } }));
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; calls: ${JSON.stringify(probe.calls)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const committed = async (group: string) => (await log.lag(group, TOPIC))[0]!.committed;

describe('given handlers declared per record kind on one topic', () => {
  it('when a batch mixes kinds, then each run goes to the handler of its schema header, in offset order, one after the other', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'upsert.v1', 'event.v1', undefined, 'upsert.v1', 'event.v1'));
    await start([MainGroup]);
    await until(async () => (await committed(MAIN)) === 6);
    expect(probe.calls.map((c) => [c.handler, c.schema, c.offsets])).toEqual([
      ['upsert', 'upsert.v1', [0, 1]],
      ['event', 'event.v1', [2]],
      ['upsert', 'upsert.v1', [3, 4]], // no header: an upsert, by the handler's declaration
      ['event', 'event.v1', [5]],
    ]);
    for (const c of probe.calls) expect(c.delivered).toEqual([0, 1, 2, 3, 4, 5]);
    expect(probe.calls.every((c) => c.group === MAIN)).toBe(true);
  });

  it('when a handler throws, then nothing of the batch is committed and it is redelivered from its start: nothing after the failure is skipped', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'upsert.v1', 'event.v1', 'upsert.v1'));
    probe.failWhen = (call, attempt) => (call.handler === 'event' && attempt === 1 ? new Error('database went away') : undefined);
    await start([MainGroup]);
    await until(() => probe.calls.length === 2);
    expect(await committed(MAIN)).toBe(0);
    expect(probe.seen(MAIN)).toEqual([0, 1, 2]); // the run after the failing one did not run
    await until(async () => (await committed(MAIN)) === 4);
    expect(probe.calls.map((c) => [c.handler, c.offsets])).toEqual([
      ['upsert', [0, 1]],
      ['event', [2]],
      ['upsert', [0, 1]],
      ['event', [2]],
      ['upsert', [3]],
    ]);
  });

  it('when a record has a schema no handler of the group declares, then the partition waits at it and health says so', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'mystery.v9', 'upsert.v1'));
    const transport = await start([MainGroup]);
    await until(() => transport.health().stalled.length > 0);
    await new Promise((r) => setTimeout(r, 700)); // at least one redelivery
    expect(probe.seen(MAIN).filter((o) => o !== 0)).toEqual([]); // offset 0 may be retried; 1 and 2 never reach a handler
    expect(probe.seen(MAIN).length).toBeGreaterThanOrEqual(2);
    expect(await committed(MAIN)).toBe(0);
    expect(transport.health()).toMatchObject({
      healthy: false,
      stalled: [{ group: MAIN, topic: TOPIC, partition: 0, offset: 1, schema: 'mystery.v9' }],
    });
    expect(transport.isHealthy()).toBe(false);
    expect(() => transport.check()).toThrow('group test.main waits at transport.records.v1[0]@1: no handler for schema mystery.v9');
  });

  it('when the group declares a fallback, then other kinds and records without a header go to it, in order', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'mystery.v9', undefined, 'upsert.v1'));
    const transport = await start([FeedGroup]);
    await until(async () => (await committed(FEED)) === 4);
    expect(() => transport.check()).not.toThrow();
    expect(probe.calls.map((c) => [c.handler, c.schema, c.offsets])).toEqual([
      ['feed-upsert', 'upsert.v1', [0]],
      ['feed-other', 'mystery.v9', [1]],
      ['feed-other', undefined, [2]],
      ['feed-upsert', 'upsert.v1', [3]],
    ]);
    expect(transport.isHealthy()).toBe(true);
  });

  it('when one handler declares several kinds, then consecutive records of those kinds reach it in one call, in offset order; another kind still waits', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'event.v1', undefined, 'event.v1', 'mystery.v9', 'upsert.v1'));
    const transport = await start([AllKindsGroup]);
    await until(() => transport.health().stalled.length > 0);
    expect(probe.calls[0]).toMatchObject({ handler: 'all', offsets: [0, 1, 2, 3] });
    expect(probe.seen(ALL).every((o) => o <= 3)).toBe(true);
    expect(transport.health().stalled).toEqual([{ group: ALL, topic: TOPIC, partition: 0, offset: 4, schema: 'mystery.v9' }]);
  });

  it('when the group has a checkpoint source, then a partition resumes where it says, not at the group offset', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'upsert.v1', 'upsert.v1', 'upsert.v1'));
    probe.startOffset = 2;
    await start([MainGroup]);
    await until(async () => (await committed(MAIN)) === 4);
    expect(probe.seen(MAIN)).toEqual([2, 3]);
  });
});

describe('given two consumer groups on one transport', () => {
  it('when one group is held inside a batch, then the other consumes the topic on its own, and each gets every record once', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'event.v1', 'upsert.v1'));
    probe.gated.add(FEED);
    const transport = await start([MainGroup, FeedGroup]);
    expect([...transport.unwrap<ReadonlyMap<string, unknown>>().keys()].sort()).toEqual([FEED, MAIN]);
    // The held group is inside its first run before the other is judged (it may start after the other finished).
    await until(() => probe.seen(FEED).length > 0);
    await until(async () => (await committed(MAIN)) === 3);
    expect(probe.seen(MAIN)).toEqual([0, 1, 2]);
    expect(probe.seen(FEED)).toEqual([0]); // waiting inside its first run
    expect(await committed(FEED)).toBe(0);
    probe.release();
    await until(async () => (await committed(FEED)) === 3);
    expect(probe.seen(FEED)).toEqual([0, 1, 2]);
    expect(probe.calls.filter((c) => c.group === FEED).map((c) => c.handler)).toEqual(['feed-upsert', 'feed-other', 'feed-upsert']);
  });
});

describe('given a running transport', () => {
  it('when it is closed during a batch, then close waits for the batch to finish and commit', async () => {
    await log.produce(TOPIC, records('upsert.v1', 'upsert.v1'));
    probe.gated.add(MAIN);
    await start([MainGroup]);
    await until(() => probe.calls.length === 1);
    let closed = false;
    const closing = app!.close().then(() => (closed = true));
    app = undefined;
    await new Promise((r) => setTimeout(r, 300));
    expect(closed).toBe(false);
    probe.release();
    await closing;
    expect(await committed(MAIN)).toBe(2);
  });

  it('when a group member stops for good, then the transport turns unhealthy and tells its fatal listeners', async () => {
    const switchable = new FatalSwitchLog(log);
    const transport = await start([MainGroup, FeedGroup], switchable);
    const statuses: string[] = [];
    transport.status.subscribe((s) => statuses.push(s));
    const heard: Array<[string, string]> = [];
    transport.on('fatal', (error, group) => heard.push([group, error.message]));
    expect(transport.isHealthy()).toBe(true);
    switchable.fatal.get(FEED)!(new Error('the consumer crashed and will not restart'));
    expect(heard).toEqual([[FEED, 'the consumer crashed and will not restart']]);
    expect(transport.health()).toMatchObject({ healthy: false, status: 'fatal', fatal: { group: FEED, error: 'the consumer crashed and will not restart' } });
    expect(statuses).toEqual(['connected', 'fatal']);
    expect(() => transport.check()).toThrow('group test.feed stopped for good: the consumer crashed and will not restart');
  });

  it('when two handlers claim the same group, topic and schema, then start-up fails naming them', async () => {
    await expect(start([MainGroup, SecondUpsertHandler])).rejects.toThrow(/two handlers for test.main \/ transport.records.v1 \/ upsert.v1/);
  });
});

describe('given a group with a batch preparer on the Postgres log', () => {
  it('then it sees each batch before the handler does — the next one while the handler still holds the one before — and a preparer that throws changes nothing', async () => {
    prepared.length = 0;
    await log.produce(TOPIC, records(...Array.from({ length: 250 }, () => 'upsert.v1')));
    probe.gated.add(PREPARED);
    await start([PreparedGroup]);
    // The handler holds the first batch (offsets 0..99) after asking for the next: it is read and prepared meanwhile.
    await until(() => prepared.length >= 2);
    expect(prepared[0]).toEqual({ offsets: Array.from({ length: 100 }, (_, i) => i), handledBefore: [] });
    expect(prepared[1].offsets[0]).toBe(100);
    expect(prepared[1].handledBefore).toEqual(Array.from({ length: 100 }, (_, i) => i)); // inside the first batch, not past it
    expect(await committed(PREPARED)).toBe(0);
    probe.release();
    await until(async () => (await committed(PREPARED)) === 250);
    expect(probe.seen(PREPARED)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(prepared.map((p) => p.offsets[0])).toEqual([0, 100, 200]);
  });

  it('when the handler never asks for the next batch, then it is read once the handler returns, and every batch is still handled', async () => {
    preparedUnasked.length = 0;
    await log.produce(TOPIC, records(...Array.from({ length: 250 }, () => 'upsert.v1')));
    probe.gated.add(PREPARED_UNASKED);
    await start([PreparedGroupNeverAsking]);
    await until(() => probe.seen(PREPARED_UNASKED).length === 100);
    await new Promise((r) => setTimeout(r, 300)); // a read-ahead would have been prepared by now
    expect(preparedUnasked).toEqual([{ first: 0, handledBefore: [] }]);
    probe.release();
    await until(async () => (await committed(PREPARED_UNASKED)) === 250);
    expect(probe.seen(PREPARED_UNASKED)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(preparedUnasked.map((p) => p.first)).toEqual([0, 100, 200]);
    expect(preparedUnasked[1].handledBefore).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('given an unroutable record', () => {
  it('then the error names group, partition, offset and schema', () => {
    expect(new UnroutableRecordError(MAIN, TOPIC, 3, 41, 'mystery.v9').message).toMatch(/test.main has no handler for schema "mystery.v9" on transport.records.v1\[3\] at offset 41/);
  });
});
