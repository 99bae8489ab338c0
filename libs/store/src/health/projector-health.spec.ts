import { ProjectorHealth, StalledPartition } from './projector-health';

const problem = (partition: number, lastFailureAt = Date.now()): StalledPartition => ({
  consumerGroup: 'g',
  topic: 't',
  partition,
  kind: 'retrying',
  reason: 'canceling statement due to statement timeout',
  attempts: 5,
  since: new Date(lastFailureAt).toISOString(),
  lastFailureAt,
});

describe('ProjectorHealth', () => {
  it('is ready until a partition stalls, names it while it does, and is ready again once it moves', async () => {
    const health = new ProjectorHealth();
    await expect(health.check()).resolves.toBeUndefined();
    health.stall(problem(3));
    await expect(health.check()).rejects.toThrow(/t\/3 retrying after 5 attempt\(s\).*statement timeout/);
    health.recovered('g', 't', 3);
    await expect(health.check()).resolves.toBeUndefined();
  });

  it('forgets a partition that has not failed for a while (handed to another member)', async () => {
    const health = new ProjectorHealth(60_000);
    health.stall(problem(1, Date.now() - 61_000));
    health.stall(problem(2));
    expect(health.problems().map((p) => p.partition)).toEqual([2]);
  });
});
