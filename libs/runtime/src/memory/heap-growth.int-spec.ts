import { spawnSync } from 'node:child_process';
import { distPath } from '@tessera/testing/paths';

/**
 * A backlog-shaped workload in a fresh node (built dist/, as the services run it): a retained window of
 * records that grows to 800,000 while 3,000,000 pass through. Prints the old generation's peak committed
 * size and the mark-compacts it took.
 */
function runWorkload(limited: boolean): { peakOldMiB: number; markCompacts: number } {
  const script = `
    ${limited ? `require(${JSON.stringify(distPath('libs/runtime/src/memory/heap-growth.js'))}).limitServiceHeapGrowth();` : ''}
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const { getHeapSpaceStatistics } = require('node:v8');
    let markCompacts = 0;
    new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) markCompacts++; }).observe({ entryTypes: ['gc'] });
    const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    const chunks = [];
    let peak = 0;
    for (let c = 0; c < 300; c++) {
      const chunk = new Array(10_000);
      for (let i = 0; i < chunk.length; i++) chunk[i] = { id: 'r' + c + '.' + i, n: i, tags: [c, i] };
      chunks.push(chunk);
      if (chunks.length > 20 + c / 5) chunks.shift();
      if (c % 2 === 0) peak = Math.max(peak, oldSpace());
    }
    // gc entries reach the observer asynchronously.
    setTimeout(() => process.stdout.write(JSON.stringify({ peakOldMiB: Math.max(peak, oldSpace()) / 1048576, markCompacts })), 100);`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`workload failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('limitServiceHeapGrowth', () => {
  it('given a heap that grows fast, when a service limits its growth, then its old generation peaks lower', () => {
    const free = runWorkload(false);
    const limited = runWorkload(true);
    expect(limited.peakOldMiB).toBeLessThan(free.peakOldMiB * 0.85);
    expect(limited.markCompacts).toBeGreaterThan(0);
  });
});
