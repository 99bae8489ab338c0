// Self time by function of a V8 CPU profile (the measure scripts of issue 12). Native frames are named with
// their caller: `dispatch` alone says nothing.
interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function selfTimes(profile: CpuProfile, top: number): { totalMs: number; top: string[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const frame = (n: ProfileNode | undefined) =>
    n ? `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(node_modules|libs|apps)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '-';
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const name = node.callFrame.url ? frame(node) : `${frame(node)} < ${frame(parent.get(node.id))}`;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    self.set(name, (self.get(name) ?? 0) + us);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalMs: total / 1000, top: rows.map(([k, v]) => `${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`) };
}
