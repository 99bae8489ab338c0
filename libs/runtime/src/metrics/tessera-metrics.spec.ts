import { parsePrometheusText } from '@tessera/testing/prometheus-text';
import type { EventLog } from '@tessera/event-log';
import { timeLogAppends } from './log-append-metrics';
import { TesseraMetrics } from './tessera-metrics';

describe('TesseraMetrics', () => {
  it('given a fresh registry, then the exposition parses and carries the process figures and every Tessera family', async () => {
    const text = await new TesseraMetrics().exposition();
    const parsed = parsePrometheusText(text);
    expect(parsed.find('process_resident_memory_bytes')[0]?.value).toBeGreaterThan(0);
    expect(parsed.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    for (const [name, type] of [
      ['tessera_http_request_duration_seconds', 'histogram'],
      ['tessera_ingest_items_total', 'counter'],
      ['tessera_ingest_requests_total', 'counter'],
      ['tessera_ingest_duration_seconds', 'histogram'],
      ['tessera_log_append_duration_seconds', 'histogram'],
      ['tessera_projector_batch_records', 'histogram'],
      ['tessera_projector_batch_duration_seconds', 'histogram'],
      ['tessera_projector_records_applied_total', 'counter'],
      ['tessera_dead_letters_total', 'counter'],
      ['tessera_consumer_lag_records', 'gauge'],
      ['tessera_db_pool_connections', 'gauge'],
      ['tessera_profile_read_duration_seconds', 'histogram'],
    ]) {
      expect([name, parsed.types.get(name)]).toEqual([name, type]);
    }
  });

  it('given a watched pool and a lag source, when scraped, then the gauges show them at scrape time', async () => {
    const metrics = new TesseraMetrics();
    const pool = { totalCount: 5, idleCount: 2, waitingCount: 1, options: { max: 8 } };
    metrics.watchPool(pool);
    let end = 10;
    metrics.watchConsumerLag({ group: 'g', topic: 't', read: async () => [0, 1].map((partition) => ({ partition, end, checkpoint: 4, lag: end - 4 })) });
    let parsed = parsePrometheusText(await metrics.exposition());
    expect(Object.fromEntries(parsed.find('tessera_db_pool_connections').map((s) => [s.labels.state, s.value]))).toEqual({ total: 5, idle: 2, in_use: 3, waiting: 1, max: 8 });
    expect(parsed.find('tessera_consumer_lag_records').map((s) => [s.labels, s.value])).toEqual([
      [{ group: 'g', topic: 't', partition: '0' }, 6],
      [{ group: 'g', topic: 't', partition: '1' }, 6],
    ]);
    pool.totalCount = 7;
    end = 20;
    parsed = parsePrometheusText(await metrics.exposition());
    expect(parsed.sum('tessera_db_pool_connections', { state: 'in_use' })).toBe(5);
    expect(parsed.sum('tessera_consumer_lag_records', { partition: '1' })).toBe(16);
  });

  it('given a lag source that fails, when scraped, then the scrape still answers (the gauge is empty)', async () => {
    const metrics = new TesseraMetrics();
    metrics.watchConsumerLag({ group: 'g', topic: 't', read: () => Promise.reject(new Error('database down')) });
    const parsed = parsePrometheusText(await metrics.exposition());
    expect(parsed.find('tessera_consumer_lag_records')).toEqual([]);
  });
});

describe('timeLogAppends', () => {
  const log = (fail: boolean) =>
    ({
      engine: 'fake',
      produce: async (topic: string, records: unknown[]) => {
        if (fail) throw new Error('broker gone');
        return records.map((_, offset) => ({ topic, partition: 0, offset }));
      },
    }) as unknown as EventLog;

  it('given a wrapped log, when it produces, then the append is timed by topic and outcome and its records counted', async () => {
    const metrics = new TesseraMetrics();
    const ok = log(false);
    timeLogAppends(ok, metrics);
    timeLogAppends(ok, metrics); // once only
    await ok.produce('t', [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
    const failing = log(true);
    timeLogAppends(failing, metrics);
    await expect(failing.produce('t', [{ key: 'a', value: '1' }])).rejects.toThrow('broker gone');
    const parsed = parsePrometheusText(await metrics.exposition());
    expect(parsed.sum('tessera_log_append_duration_seconds_count', { topic: 't', outcome: 'ok' })).toBe(1);
    expect(parsed.sum('tessera_log_append_duration_seconds_count', { topic: 't', outcome: 'error' })).toBe(1);
    expect(parsed.sum('tessera_log_appended_records_total', { topic: 't' })).toBe(2);
  });
});

describe('parsePrometheusText (the test reader itself)', () => {
  it('given lines outside the grammar, then it throws naming the line', () => {
    expect(() => parsePrometheusText('# TYPE a counter\na{x="1"} one\n')).toThrow('not a Prometheus text line');
    expect(() => parsePrometheusText('b 1\n')).toThrow('before its # TYPE');
    expect(() => parsePrometheusText('# TYPE c gauge\nc{x="unterminated} 1\n')).toThrow();
    expect(parsePrometheusText('# HELP c a \\"help\\"\n# TYPE c gauge\nc{x="a\\"b",y="2"} +Inf\n').find('c')).toEqual([{ name: 'c', labels: { x: 'a"b', y: '2' }, value: Infinity }]);
  });
});
