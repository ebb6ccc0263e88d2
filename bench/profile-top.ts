/**
 * `npx tsx bench/profile-top.ts FILE.cpuprofile [--top 25] [--files 15]`: where a V8 CPU profile's
 * time went, as text for BENCHMARKS.md — the functions with the most self time, then the same time
 * grouped by source file (node_modules packages as one line each), both in % of the profiled window
 * and of the busy part of it (everything but `(idle)`). In the grouping, a native function (no
 * source: `writev`, a builtin, an anonymous binding) counts for the nearest caller that has a file,
 * as `native ← file`, so "native" is not one opaque third of the time.
 *
 * Self time is taken from the samples and their time deltas (what DevTools shows as "self time"),
 * not from hit counts × interval: under load the sampler's interval stretches, and the deltas say by
 * how much.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  top: { type: 'string', default: '25' }, files: { type: 'string', default: '15' },
} });
if (positionals.length !== 1) {
  console.error('usage: bench/profile-top.ts FILE.cpuprofile [--top 25] [--files 15]');
  process.exit(2);
}

/** A short, stable name for where a function lives: the repo-relative path, or the npm package. */
export function fileOf(url: string): string {
  if (url === '') return '(native / V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path;
  const repo = /\/(api|alerts|bench|broker|cli|commands|core|ingest|reports|storage|dashboards|devices-sim)\/.*$/.exec(path);
  return repo ? repo[0].slice(1) : path;
}

async function main(file: string): Promise<void> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const VM = new Set(['(garbage collector)', '(program)', '(root)']);
  /** The file of a frame; for a native one, that of its nearest caller with a file. */
  const groupOf = (id: number): string => {
    const cf = byId.get(id)!.callFrame;
    if (cf.url !== '' || VM.has(cf.functionName)) return fileOf(cf.url) === '(native / V8)' ? cf.functionName : fileOf(cf.url);
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const up = byId.get(p)!.callFrame;
      if (up.url !== '') return `native ← ${fileOf(up.url)}`;
    }
    return '(native, no caller)';
  };
  const self = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; it belongs to sample i (as DevTools counts it).
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, { fn: string; file: string; us: number }>();
  const files = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const f = fileOf(cf.url);
    const key = `${cf.functionName}\u0000${cf.url}\u0000${cf.lineNumber}`;
    const prev = fns.get(key) ?? { fn: `${cf.functionName || '(anonymous)'}${cf.url ? `:${cf.lineNumber + 1}` : ''}`, file: f, us: 0 };
    prev.us += us;
    fns.set(key, prev);
    const g = groupOf(id);
    files.set(g, (files.get(g) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1)} %`;
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s profiled, ${pct(busy, total)} busy (${(busy / 1e6).toFixed(2)} s)\n`);
  console.log('| self ms | % of busy | function | file |\n|---:|---:|---|---|');
  for (const r of [...fns.values()].sort((a, b) => b.us - a.us).slice(0, Number(values.top))) {
    console.log(`| ${(r.us / 1000).toFixed(0)} | ${pct(r.us, busy)} | \`${r.fn}\` | ${r.file} |`);
  }
  console.log('\n| file or package (native code under its caller) | self ms | % of busy |\n|---|---:|---:|');
  for (const [f, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, Number(values.files))) {
    console.log(`| ${f} | ${(us / 1000).toFixed(0)} | ${pct(us, busy)} |`);
  }
}

main(positionals[0]!).catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
