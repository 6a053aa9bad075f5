// Progress goes to stderr, so that stdout carries only the results.
const started = Date.now();

export function progress(message: string): void {
  const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${elapsed}s] ${message}\n`);
}

export const elapsedSeconds = (): number => (Date.now() - started) / 1000;
