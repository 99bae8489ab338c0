// A replay holds copies of log records in memory while it runs; the erasure completer asks replayRunning
// before it marks a deletion COMPLETED. Only a replay's exclusive lease counts, not a worker's shared one.
import { createProjectionFixture, ProjectionFixture } from '@tessera/testing/projection-fixture';
import { acquireReplayLease, acquireWorkerLease, replayRunning } from './projection-lease';

let fx: ProjectionFixture;

beforeAll(async () => {
  fx = await createProjectionFixture(1);
});

afterAll(async () => {
  await fx?.close();
});

describe('given the projection lease', () => {
  it('when a replay holds it, then replayRunning says so from any connection, and no longer once it is released', async () => {
    expect(await replayRunning(fx.dataSource)).toBe(false);
    const replay = await acquireReplayLease(fx.dataSource);
    try {
      expect(await replayRunning(fx.dataSource)).toBe(true);
    } finally {
      await replay.release();
    }
    expect(await replayRunning(fx.dataSource)).toBe(false);
  });

  it('when only a worker holds it (shared), then no replay is running', async () => {
    const worker = await acquireWorkerLease(fx.dataSource);
    try {
      expect(await replayRunning(fx.dataSource)).toBe(false);
      await expect(acquireReplayLease(fx.dataSource)).rejects.toThrow(/a worker is running/);
    } finally {
      await worker.release();
    }
  });
});
