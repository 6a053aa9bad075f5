import { readFileSync } from 'node:fs';

// bench/ab.sh's summary: `node --import tsx bench/ab-summary.ts A=<json> B=<json> ...`.
// Prints every run's figures, then per figure the median of each side and B/A.

interface Figure {
  key: string;
  label: string;
  value: number | null;
  unit: string;
}
interface RunFile {
  runId: string;
  machine: { commit: string };
  items: { figures: Figure[] }[];
}
interface Run {
  side: string;
  runId: string;
  commit: string;
  figures: Map<string, Figure>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function load(argument: string): Run {
  const [side, file] = argument.split('=', 2);
  const run = JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  const figures = new Map<string, Figure>();
  for (const item of run.items) for (const figure of item.figures) figures.set(figure.key, figure);
  return { side, runId: run.runId, commit: run.machine.commit, figures };
}

const format = (value: number) =>
  Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);

function main(): void {
  const runs = process.argv.slice(2).map(load);
  const keys = [...new Set(runs.flatMap((run) => [...run.figures.keys()]))];
  console.log('| side | run | commit | ' + keys.join(' | ') + ' |');
  console.log('| --- | --- | --- | ' + keys.map(() => '---:').join(' | ') + ' |');
  for (const run of runs) {
    const cells = keys.map((key) => {
      const value = run.figures.get(key)?.value;
      return typeof value === 'number' ? format(value) : '—';
    });
    console.log(`| ${run.side} | ${run.runId} | ${run.commit} | ${cells.join(' | ')} |`);
  }
  console.log('\n| figure | median A | median B | B/A |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const key of keys) {
    const side = (name: string) =>
      runs
        .filter((run) => run.side === name)
        .map((run) => run.figures.get(key)?.value)
        .filter((value): value is number => typeof value === 'number');
    const [a, b] = [side('A'), side('B')];
    if (!a.length || !b.length) continue;
    const unit = runs.find((run) => run.figures.has(key))?.figures.get(key)?.unit ?? '';
    console.log(
      `| ${key} (${unit}) | ${format(median(a))} | ${format(median(b))} | ${(median(b) / median(a)).toFixed(2)} |`,
    );
  }
}

main();
