// Top frames of a V8 CPU profile (node --cpu-prof; `make bench` writes them with BENCH_CPU_PROF):
// self time per function and per package, to see where a component's time goes.
//   node tests/bench/e2e/cpu-profile.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  name: string;
  selfMs: number;
  share: number;
}

const where = (url: string): string => {
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1] as string;
  if (url.startsWith('node:')) return url;
  const local = url.match(/\/(services|operator|tests)\/(.*)$/);
  return local ? `${local[1]}/${local[2]}` : url || '(native)';
};

export function topFrames(profile: Profile, top = 15): { byFunction: Frame[]; byPackage: Frame[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)?.callFrame;
    if (!f) continue;
    const place = where(f.url);
    const name = `${f.functionName || '(anonymous)'} ${place}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    pkg.set(place, (pkg.get(place) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>): Frame[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, selfMs: Math.round(ms), share: ms / totalMs }));
  return { byFunction: rank(fn), byPackage: rank(pkg), totalMs };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node tests/bench/e2e/cpu-profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const r = topFrames(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 15));
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  process.stdout.write(`${file}: ${Math.round(r.totalMs)} ms sampled\nby package / file (self time):\n`);
  for (const f of r.byPackage) process.stdout.write(`  ${pct(f.share)}  ${f.name}\n`);
  process.stdout.write('by function (self time):\n');
  for (const f of r.byFunction) process.stdout.write(`  ${pct(f.share)}  ${f.name}\n`);
}
