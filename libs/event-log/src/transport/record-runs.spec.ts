import type { LogRecord, RecordBatch } from '../event-log.port';
import { splitIntoRuns } from './record-runs';

function batch(schemas: Array<string | undefined>, firstOffset = 10): RecordBatch {
  const records: LogRecord[] = schemas.map((schema, i): LogRecord => ({
    topic: 't',
    partition: 2,
    offset: firstOffset + i,
    key: `k${i}`,
    value: Buffer.from(String(i)),
    headers: schema === undefined ? {} : { schema },
    timestamp: new Date(0).toISOString(),
  }));
  return { topic: 't', partition: 2, records, highWatermark: 99 };
}

const shape = (runs: ReturnType<typeof splitIntoRuns>) => runs.map((r) => [r.schema, r.batch.records.map((x) => x.offset)]);

describe('given a partition batch', () => {
  it('when every record has one schema, then it is one run: the delivered batch itself, not a copy', () => {
    const b = batch(['a.v1', 'a.v1', 'a.v1']);
    const runs = splitIntoRuns(b);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.batch).toBe(b);
    expect(runs[0]!.schema).toBe('a.v1');
  });

  it('when kinds alternate, then runs of consecutive records keep offset order, topic, partition and high watermark', () => {
    const runs = splitIntoRuns(batch(['a.v1', 'a.v1', 'b.v1', 'a.v1', 'c.v1', 'c.v1']));
    expect(shape(runs)).toEqual([
      ['a.v1', [10, 11]],
      ['b.v1', [12]],
      ['a.v1', [13]],
      ['c.v1', [14, 15]],
    ]);
    for (const r of runs) expect(r.batch).toMatchObject({ topic: 't', partition: 2, highWatermark: 99 });
  });

  it('when records lack the schema header, then they take the topic default and join the runs of that schema', () => {
    expect(shape(splitIntoRuns(batch(['a.v1', undefined, 'a.v1', 'b.v1', undefined]), 'a.v1'))).toEqual([
      ['a.v1', [10, 11, 12]],
      ['b.v1', [13]],
      ['a.v1', [14]],
    ]);
  });

  it('when records lack the header and the topic has no default, then their run has no schema', () => {
    expect(shape(splitIntoRuns(batch([undefined, undefined, 'a.v1'])))).toEqual([
      [undefined, [10, 11]],
      ['a.v1', [12]],
    ]);
  });
});
