// Not part of npm test: shared by the projector measures.
import { readFileSync } from 'node:fs';
import type { DataSource } from 'typeorm';

/** CPU milliseconds (user+system) of every backend of the data source's database, from /proc: holds on a loaded machine. */
export async function backendCpuMs(dataSource: DataSource): Promise<number> {
  const rows: Array<{ pid: number }> = await dataSource.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  let ticks = 0;
  for (const r of rows) {
    try {
      const f = readFileSync(`/proc/${r.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks * 10;
}
