/**
 * Linux /proc sampling: RSS and peak RSS of the server process, CPU time of the server, of its
 * PostgreSQL processes (the embedded postmaster is its child) and of the bench itself, so every
 * phase can say which process the time went to.
 */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks = 100;
try {
  clockTicks = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep 100 */
}

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds. */
  cpu: number;
  /** cutime + cstime (reaped children), seconds. */
  childCpu: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // f[0] = state (field 3); utime = field 14 → f[11]
    return { pid, ppid: Number(f[1]), comm, cpu: (Number(f[11]) + Number(f[12])) / clockTicks, childCpu: (Number(f[13]) + Number(f[14])) / clockTicks };
  } catch {
    return undefined;
  }
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

function descendants(root: number, stats: Stat[]): Stat[] {
  const byParent = new Map<number, Stat[]>();
  for (const s of stats) {
    const list = byParent.get(s.ppid);
    if (list) list.push(s);
    else byParent.set(s.ppid, [s]);
  }
  const out: Stat[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of byParent.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

/** kB fields of /proc/<pid>/status, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

function pssMiB(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

export interface CpuSnapshot {
  atMs: number;
  /** CPU seconds so far. */
  server: number;
  postgres: number;
  bench: number;
  /** Whole machine (/proc/stat): busy and iowait CPU seconds so far. */
  machineBusy: number;
  machineIowait: number;
}

export interface CpuUse {
  wallSeconds: number;
  /** Average cores busy over the phase. */
  serverCores: number;
  postgresCores: number;
  benchCores: number;
  /** Every process on the machine, and the part that is none of the above (other users of the machine). */
  machineCores: number;
  otherCores: number;
  iowaitCores: number;
}

function machineTimes(): { busy: number; iowait: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq + steal) / clockTicks, iowait: iowait / clockTicks };
  } catch {
    return { busy: NaN, iowait: NaN };
  }
}

/** 1-minute load average. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/** Samples one server process (and its PostgreSQL children) while it runs. */
export class ProcessWatcher {
  private timer?: NodeJS.Timeout;
  private ticks = 0;
  peakRssMiB = 0;
  peakHwmMiB = 0;
  peakPostgresPssMiB = 0;

  constructor(readonly pid: number) {}

  start(intervalMs = 250): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const m = memoryOf(this.pid);
    // A process that exited (zombie) has no Vm* lines: NaN, skipped.
    if (m && Number.isFinite(m.rssMiB)) this.peakRssMiB = Math.max(this.peakRssMiB, m.rssMiB);
    if (m && Number.isFinite(m.hwmMiB)) this.peakHwmMiB = Math.max(this.peakHwmMiB, m.hwmMiB);
    if (this.ticks++ % 4 === 0) {
      const pg = descendants(this.pid, allStats()).filter((s) => s.comm.startsWith('postgres') || s.comm.startsWith('postmaster'));
      let sum = 0;
      for (const s of pg) sum += pssMiB(s.pid);
      this.peakPostgresPssMiB = Math.max(this.peakPostgresPssMiB, sum);
    }
  }

  /** Peak RSS of the process: the kernel's high-water mark, or the highest sample when that is unavailable. */
  peakMiB(): number {
    return Math.max(this.peakHwmMiB, this.peakRssMiB);
  }

  cpu(): CpuSnapshot {
    return cpuSnapshot(this.pid);
  }
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const stats = allStats();
  const server = stats.find((s) => s.pid === serverPid);
  const pg = descendants(serverPid, stats).filter((s) => s.comm.startsWith('postgres') || s.comm.startsWith('postmaster'));
  // The postmaster's cutime/cstime covers backends that already exited.
  const pgPids = new Set(pg.map((s) => s.pid));
  const postmasters = pg.filter((s) => !pgPids.has(s.ppid));
  let postgres = 0;
  for (const s of pg) postgres += s.cpu;
  for (const s of postmasters) postgres += s.childCpu;
  const self = stats.find((s) => s.pid === process.pid);
  const m = machineTimes();
  return { atMs: Number(process.hrtime.bigint()) / 1e6, server: server?.cpu ?? 0, postgres, bench: self?.cpu ?? 0, machineBusy: m.busy, machineIowait: m.iowait };
}

export function cpuUse(from: CpuSnapshot, to: CpuSnapshot): CpuUse {
  const wall = (to.atMs - from.atMs) / 1000;
  const per = (a: number, b: number) => (wall > 0 ? Math.max(0, b - a) / wall : 0);
  const serverCores = per(from.server, to.server);
  const postgresCores = per(from.postgres, to.postgres);
  const benchCores = per(from.bench, to.bench);
  const machineCores = per(from.machineBusy, to.machineBusy);
  return {
    wallSeconds: wall,
    serverCores,
    postgresCores,
    benchCores,
    machineCores,
    otherCores: Math.max(0, machineCores - serverCores - postgresCores - benchCores),
    iowaitCores: per(from.machineIowait, to.machineIowait),
  };
}

/** CPU seconds of a process and of the PostgreSQL processes under it (for short-lived processes such as the replay CLI). */
export function processTreeCpu(pid: number): { self: number; postgres: number } {
  const s = cpuSnapshot(pid);
  return { self: s.server, postgres: s.postgres };
}
