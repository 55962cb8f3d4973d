/**
 * `node dist/scripts/cpuprofile-top.js FILE.cpuprofile [N]`
 *
 * Where a V8 CPU profile (`node --cpu-prof`, `npm run bench -- --profile DIR`, `npm run bench:raft
 * -- --profile DIR`) spent its busy time: the N functions with the most self time and the N with
 * the most inclusive time, each as a share of the busy (non-idle) samples. The figures quoted in
 * docs/benchmarks.md come from it; the same file opens as a flame graph in Chrome DevTools or
 * speedscope.
 */
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

const [file, topText] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: node dist/scripts/cpuprofile-top.js FILE.cpuprofile [N]\n');
  process.exit(2);
}
const top = Number(topText ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (id: number): string => {
  const f = byId.get(id)!.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
};

// Time per sampled node (a sample's delta is the time since the previous sample).
const timeOf = new Map<number, number>();
profile.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, t] of timeOf) {
  total += t;
  if (byId.get(id)!.callFrame.functionName === '(idle)') {
    idle += t;
    continue;
  }
  self.set(name(id), (self.get(name(id)) ?? 0) + t);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = name(cur);
    if (seen.has(n) || n.startsWith('(root)')) continue;
    seen.add(n);
    inclusive.set(n, (inclusive.get(n) ?? 0) + t);
  }
}
const busy = total - idle;
const table = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  .map(([n, t]) => `${((100 * t) / busy).toFixed(1).padStart(6)} %  ${n}`).join('\n');
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy`);
console.log(`self time (share of busy):\n${table(self)}`);
console.log(`inclusive time (share of busy):\n${table(inclusive)}`);
