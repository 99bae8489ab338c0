// Not part of npm test: CPU per record of decoding (what decode-ahead can hide behind PostgreSQL).
import { generatePopulation } from '../../../bench/population';
import { encodeUpserts } from '../../../test/support/projection-fixture';
import { decodeRecord } from '@tessera/contracts';
import { SCHEMA_HEADER } from '@tessera/event-log/transport/record-runs';

it('measures', () => {
  const pop = generatePopulation({ people: 20000, prefix: 'm', seed: 7, batchSize: 100 });
  const records = encodeUpserts(pop.items.map((i) => i.attributes)).map((r) => ({ value: Buffer.from(r.value), headers: r.headers }));
  for (let run = 0; run < 5; run++) {
    const t = process.cpuUsage();
    let ok = 0;
    for (const r of records) if (decodeRecord(r.value, r.headers[SCHEMA_HEADER]).ok) ok++;
    const c = process.cpuUsage(t);
    // eslint-disable-next-line no-console
    console.log(`decode: ${ok} records, ${(((c.user + c.system) / records.length)).toFixed(1)} µs CPU per record`);
  }
});
