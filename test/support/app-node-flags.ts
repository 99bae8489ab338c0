/**
 * The node flags every Tessera app runs with: `npm start`, the `start:*` scripts and the CLI's
 * `npm run tessera` (package.json), the Docker image (NODE_OPTIONS), the servers tests and the bench start, and
 * the bench's replay, so they run as those scripts do (app-node-flags.spec.ts checks they agree).
 *
 * `--max-semi-space-size=32`: V8's young generation with 32 MiB semi-spaces instead of 16. Ingest and the
 * projector allocate tens of KB a record and keep whole batches alive across scavenges; with 32 the bench's
 * projection took half the scavenges and 36 % less GC time per record (issue 12, eleventh round), for
 * ≈ 40 MiB more RSS. 64 would pass the 512 MiB RSS target. A replay builds its whole identity graph in
 * memory: on the bench's 200,000-people data dir (1.3 M records) it took 69.9–70 s with 32 against 83.5–86.4 s
 * with node's default of 16 (issue 12, fifteenth round; 64 and 128 were no faster than 32).
 */
export const APP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
