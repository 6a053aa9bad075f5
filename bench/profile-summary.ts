/**
 * Where a process's time went, from a V8 CPU profile (`--cpu-prof`, see
 * bench/README.md): self time by package, by our own source file, by Node's
 * internals and V8's own entries ((garbage collector), (program)), then the
 * top functions, each as a share of the time the process was not idle.
 *
 *   npm run bench:profile -- /tmp/prof/CPU.….cpuprofile [top]
 */
import { readFileSync } from 'node:fs';
import { type CpuProfile, summarizeProfile } from './lib/profile.js';

const [path, topArg] = process.argv.slice(2);
if (!path) {
  console.error('usage: npm run bench:profile -- <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const summary = summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile);
for (const [title, entries] of [
  ['by owner', summary.byOwner],
  ['by function', summary.byFunction],
] as const) {
  console.log(`\n${title} (share of ${(summary.busyUs / 1e6).toFixed(1)} s busy)`);
  for (const [name, us] of entries.slice(0, top))
    console.log(`${((100 * us) / summary.busyUs).toFixed(1).padStart(5)}%  ${name}`);
}
