import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may grow a service's old generation past what its last full collection kept alive: 100 %
 * (a factor of 2). Left to itself V8 picks up to 4× for a heap that grows fast, and a projector draining
 * a backlog grows fast: on the bench's projection of 857,877 records by a fresh single node the server
 * peaked at 492–497 MiB RSS (530 in one bench run, over the 512 MiB target), and at 344–372 MiB with a
 * factor of 1.5–2, for 3–6 % fewer records/s and more, shorter mark-compacts (issue 12, seventeenth round).
 */
export const SERVICE_HEAP_GROWING_PERCENT = 100;

/**
 * Applies SERVICE_HEAP_GROWING_PERCENT to this process. Node refuses the flag in NODE_OPTIONS, so the
 * services set it as they start; V8 reads it whenever it sets the next collection's limit. The CLI does
 * not: a replay keeps its whole identity graph in memory by design and wants the fewest collections.
 */
export function limitServiceHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${SERVICE_HEAP_GROWING_PERCENT}`);
}
