import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory of a Linux process from /proc: current (VmRSS) and peak (VmHWM), in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** CPU time (user + system) a Linux process has used so far, in milliseconds, from /proc/<pid>/stat. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU milliseconds the whole machine has been busy so far, summed over its cores and every process on it
 * (/proc/stat's first line: all but idle and iowait). Over an interval, divided by what got done, it is
 * the machine's cost of one unit of work, whoever spent it: the app, PostgreSQL, Redis, the load.
 */
export function machineBusyMs(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (ms) used so far by every process whose command name is one of `names` (postgres, redis-server). */
export function cpuMsOfCommands(names: readonly string[]): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (names.includes(comm)) total += cpuMsOf(Number(entry)) || 0;
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

/**
 * Samples a process's memory every `everyMs` and keeps the peak: VmHWM from the kernel, and the highest
 * VmRSS seen (the same thing where VmHWM is not kept).
 */
export class MemorySampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    everyMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): void {
    const m = memoryOf(this.pid);
    if (m) this.peak = Math.max(this.peak, Number.isFinite(m.peak) ? m.peak : 0, Number.isFinite(m.rss) ? m.rss : 0);
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak;
  }
}

/** Parent pid of every process, from /proc (one pass). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** `pid` and every process below it. */
export function treeOf(pid: number): number[] {
  const ppid = parents();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of ppid) if (parent === tree[i]) tree.push(child);
  return tree;
}

/** RSS of a whole process tree (`npm start`: npm, and node below it), in bytes. */
export function treeRssOf(pid: number): number {
  return treeOf(pid).reduce((sum, p) => sum + (memoryOf(p)?.rss ?? 0), 0);
}

/** CPU time (ms) of a whole process tree so far. */
export function treeCpuMsOf(pid: number): number {
  return treeOf(pid).reduce((sum, p) => sum + (cpuMsOf(p) || 0), 0);
}

/** Samples a process tree's summed RSS every `everyMs` and keeps the peak. */
export class TreeMemorySampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    everyMs = 200,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): void {
    this.peak = Math.max(this.peak, treeRssOf(this.pid));
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak;
  }
}
