/** Why a partition is not moving: it keeps retrying, but readiness reports it (issue 8 items 3, 5). */
export interface StalledPartition {
  consumerGroup: string;
  topic: string;
  partition: number;
  /** 'checkpoint-gap' never heals by itself; 'retrying' is a transient error that outlived its bound. */
  kind: 'retrying' | 'checkpoint-gap';
  reason: string;
  attempts: number;
  since: string;
  /** Epoch ms of the latest failed attempt. */
  lastFailureAt: number;
}

/**
 * Health of the projector's partitions as readiness sees it. The projector reports failures and
 * successes; `/health/ready` calls `check()` (rejects while a partition is stalled).
 */
export class ProjectorHealth {
  private readonly stalled = new Map<string, StalledPartition>();

  /**
   * A stalled partition is retried at least every 30 s (the log's longest back-off); one whose last
   * failure is older than `forgetAfterMs` was handed to another member (rebalance) and is forgotten here.
   */
  constructor(private readonly forgetAfterMs = 120_000) {}

  stall(problem: StalledPartition): void {
    this.stalled.set(`${problem.consumerGroup}\u0000${problem.topic}\u0000${problem.partition}`, problem);
  }

  recovered(consumerGroup: string, topic: string, partition: number): void {
    this.stalled.delete(`${consumerGroup}\u0000${topic}\u0000${partition}`);
  }

  /** Partitions that stopped moving, oldest first. */
  problems(): StalledPartition[] {
    const now = Date.now();
    for (const [key, p] of this.stalled) if (now - p.lastFailureAt > this.forgetAfterMs) this.stalled.delete(key);
    return [...this.stalled.values()].sort((a, b) => a.since.localeCompare(b.since));
  }

  /** For readiness: resolves while every partition moves, rejects naming the stalled ones otherwise. */
  async check(): Promise<void> {
    const problems = this.problems();
    if (problems.length === 0) return;
    throw new Error(
      problems.map((p) => `${p.topic}/${p.partition} ${p.kind} after ${p.attempts} attempt(s) since ${p.since}: ${p.reason}`).join('; '),
    );
  }
}
