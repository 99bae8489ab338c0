/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and attributes its samples, inside a time window, to
 * functions (self time), to packages / Tessera modules (self time) and to Tessera functions
 * (inclusive time). Windows are in milliseconds of the monotonic clock (process.hrtime), which is the
 * clock V8 stamps profiles with on Linux, so one profile of the whole run splits into its phases.
 *
 *   node dist/bench/profile-analysis.js <file.cpuprofile> [fromMs toMs]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  pct: number;
}

export interface WindowAnalysis {
  fromMs: number;
  toMs: number;
  sampledMs: number;
  /** Share of the window the main thread was not idle (≈ cores of JS + GC + native on the main thread). */
  busyPct: number;
  categories: Share[];
  selfTop: Share[];
  /** Inclusive time of Tessera's own functions (apps/, libs/). */
  tesseraInclusiveTop: Share[];
}

export class ProfileReader {
  private readonly profile: CpuProfile;
  private readonly parent = new Map<number, number>();
  private readonly byId = new Map<number, ProfileNode>();
  /** Absolute time (ms) and weight (ms) of each sample. */
  private readonly times: Float64Array;
  private readonly weights: Float64Array;

  constructor(path: string) {
    this.profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
    for (const n of this.profile.nodes) {
      this.byId.set(n.id, n);
      for (const c of n.children ?? []) this.parent.set(c, n.id);
    }
    const { samples, timeDeltas } = this.profile;
    this.times = new Float64Array(samples.length);
    this.weights = new Float64Array(samples.length);
    let t = this.profile.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += timeDeltas[i] ?? 0;
      this.times[i] = t / 1000;
    }
    for (let i = 0; i < samples.length; i++) {
      const next = i + 1 < samples.length ? this.times[i + 1]! : this.profile.endTime / 1000;
      this.weights[i] = Math.max(0, Math.min(next - this.times[i]!, 100));
    }
  }

  get startMs(): number {
    return this.profile.startTime / 1000;
  }

  get endMs(): number {
    return this.profile.endTime / 1000;
  }

  analyse(fromMs = this.startMs, toMs = this.endMs, top = 25): WindowAnalysis {
    const self = new Map<string, number>();
    const categories = new Map<string, number>();
    const inclusive = new Map<string, number>();
    let sampled = 0;
    let idle = 0;
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i]!;
      if (t < fromMs || t >= toMs) continue;
      const w = this.weights[i]!;
      sampled += w;
      const node = this.byId.get(this.profile.samples[i]!)!;
      const fn = node.callFrame.functionName;
      if (fn === '(idle)') {
        idle += w;
        continue;
      }
      const key = frameKey(node.callFrame);
      self.set(key, (self.get(key) ?? 0) + w);
      const cat = category(node.callFrame);
      categories.set(cat, (categories.get(cat) ?? 0) + w);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = this.parent.get(id)) {
        const f = this.byId.get(id)!.callFrame;
        if (!isTessera(f.url)) continue;
        const k = frameKey(f);
        if (seen.has(k)) continue;
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + w);
      }
    }
    const busy = sampled - idle;
    const shares = (m: Map<string, number>, n: number, total: number): Share[] =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: total > 0 ? Math.round((ms / total) * 1000) / 10 : 0 }));
    return {
      fromMs,
      toMs,
      sampledMs: Math.round(sampled),
      busyPct: sampled > 0 ? Math.round((busy / sampled) * 1000) / 10 : 0,
      categories: shares(categories, 30, busy),
      selfTop: shares(self, top, busy),
      tesseraInclusiveTop: shares(inclusive, top, busy),
    };
  }
}

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

function frameKey(f: CallFrame): string {
  const where = shortUrl(f.url);
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}:${f.lineNumber + 1}` : ''}`;
}

function isTessera(url: string): boolean {
  return /\/dist\/(apps|libs)\//.test(url) && !url.includes('/node_modules/');
}

/** Package (node_modules), Tessera module (dist/apps|libs/<name>), node core, V8 builtin or VM state. */
export function category(f: CallFrame): string {
  const url = f.url;
  if (!url) {
    if (f.functionName.startsWith('(')) return f.functionName; // (garbage collector), (program), (root)
    return `v8 builtin ${f.functionName}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) {
    const mod = url.slice('node:'.length).replace(/^internal\//, '');
    return `node:${mod.split('/')[0]}`;
  }
  const m = /\/dist\/(apps|libs|bench|test)\/([^/]+)\//.exec(url);
  if (m) return `tessera ${m[1]}/${m[2]}`;
  return basename(url);
}

export function renderAnalysis(title: string, a: WindowAnalysis, rows = 15): string {
  const lines = [`### ${title}`, '', `window ${((a.toMs - a.fromMs) / 1000).toFixed(1)} s, main thread busy ${a.busyPct}%`, ''];
  const table = (head: string, list: Share[]) => {
    lines.push(`| ${head} | ms | % of busy |`, '|---|---:|---:|');
    for (const s of list.slice(0, rows)) lines.push(`| ${s.name.replace(/\|/g, '\\|')} | ${s.ms} | ${s.pct} |`);
    lines.push('');
  };
  table('self time by package / module', a.categories);
  table('self time by function', a.selfTop);
  table('inclusive time, Tessera functions', a.tesseraInclusiveTop);
  return lines.join('\n');
}

if (require.main === module) {
  const [file, from, to] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile-analysis.js <file.cpuprofile> [fromMs toMs]');
    process.exit(2);
  }
  const reader = new ProfileReader(file);
  const a = reader.analyse(from ? Number(from) : reader.startMs, to ? Number(to) : reader.endMs, 40);
  console.log(renderAnalysis(basename(file), a, 40));
}
