/**
 * The node flags every Tessera app runs with: `npm start` and the `start:*` scripts (package.json), the
 * Docker image (NODE_OPTIONS), and the servers tests and the bench start, so they run as `npm start` does
 * (app-node-flags.spec.ts checks they agree).
 *
 * `--max-semi-space-size=32`: V8's young generation with 32 MiB semi-spaces instead of 16. Ingest and the
 * projector allocate tens of KB a record and keep whole batches alive across scavenges; with 32 the bench's
 * projection took half the scavenges and 36 % less GC time per record (issue 12, eleventh round), for
 * ≈ 40 MiB more RSS. 64 would pass the 512 MiB RSS target.
 */
export const APP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
