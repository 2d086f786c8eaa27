import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CpuProfile {
  /** Microseconds on the monotonic clock, the one `process.hrtime` reads in every process of the machine. */
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const busyTime = (p: CpuProfile): number => {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) if (!idle.has(p.samples[i]!)) t += p.timeDeltas[i] ?? 0;
  return t;
};

/** Microseconds on the monotonic clock, comparable with a `.cpuprofile`'s sample times. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * The top frames by self time, with their share of all samples, of the busiest `.cpuprofile` in `dir`.
 * `--cpu-prof` writes one file per thread; with `--import tsx` one of them is tsx's loader thread,
 * which is mostly idle, so the busiest file is the application's main thread. With `window`
 * (`monotonicUs()` readings), only the samples taken inside it count: a process's start-up (loading and
 * compiling modules) stays out of a profile of what it did while it was timed.
 */
export function summariseProfile(dir: string, top = 15, window?: { from: number; to: number }): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return `(no .cpuprofile in ${dir})`;
  const loaded = files.map((f) => ({ file: f, p: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile }));
  loaded.sort((a, b) => busyTime(b.p) - busyTime(a.p));
  const { file, p } = loaded[0]!;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (!node || (window && (at < window.from || at > window.to))) continue;
    total += dt;
    const f = node.callFrame;
    const where = f.url ? `${shorten(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  // Group by package / area too: node_modules/<pkg>, src/<dir>, node internals, idle, GC.
  const areas = new Map<string, number>();
  for (const [key, t] of self) {
    const area = /\(idle\)|\(program\)|\(garbage collector\)/.exec(key)?.[0] ?? /node_modules\/((@[^/]+\/)?[^/]+)/.exec(key)?.[1] ?? /src\/[^/:]+/.exec(key)?.[0] ?? (key.includes('node:') ? 'node internals' : 'other');
    areas.set(area, (areas.get(area) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / Math.max(1, total)).toFixed(1)}%`.padStart(6);
  const lines = [`profile ${file}: ${(total / 1e6).toFixed(1)} s sampled${window ? ' while timed' : ''}`, 'by area:'];
  for (const [k, t] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`  ${pct(t)}  ${k}`);
  lines.push('top frames by self time:');
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${k}`);
  return lines.join('\n');
}

function shorten(url: string): string {
  const i = url.indexOf('node_modules/');
  if (i >= 0) return url.slice(i);
  const s = url.indexOf('/src/');
  if (s >= 0) return url.slice(s + 1);
  return url.replace(/^file:\/\//, '');
}

if (process.argv[1] && process.argv[1].endsWith('profile.ts')) {
  process.stdout.write(`${summariseProfile(process.argv[2] ?? '.')}\n`);
}
