/**
 * `--api-processes=N`: N ROLE=api processes of the built server behind one
 * port (node:cluster; the primary hands each accepted connection to a child
 * in turn), DESIGN.md's "adding processes behind a load balancer" on the
 * benchmark's one box. The children run dist/src/main.js unchanged; a device
 * whose socket is on another child is reached through the fan-out job and
 * Redis routing, as between machines.
 *
 * Started by lib/server.ts as `node --import tsx api-cluster.ts`, with
 * API_CLUSTER_MAIN (the server's entry), API_CLUSTER_SIZE and
 * API_CLUSTER_NODE_ARGS (node flags for the children as a JSON array, e.g. ["--cpu-prof"]).
 */
import cluster from 'node:cluster';

const main = process.env.API_CLUSTER_MAIN;
const size = Number(process.env.API_CLUSTER_SIZE);
if (!main || !Number.isInteger(size) || size < 1) {
  console.error('api-cluster: API_CLUSTER_MAIN and API_CLUSTER_SIZE are required');
  process.exit(1);
}

cluster.setupPrimary({
  exec: main,
  execArgv: JSON.parse(process.env.API_CLUSTER_NODE_ARGS ?? '[]') as string[],
});
let listening = 0;
let stopping = false;
cluster.on('listening', () => {
  listening++;
  // lib/server.ts waits for this line: every child takes connections.
  if (listening === size) console.log(`api cluster: ${size} processes listening`);
});
cluster.on('exit', (child, code, signal) => {
  if (!stopping) {
    console.error(`api cluster: child ${child.process.pid} exited (${signal ?? code})`);
    stopAll(1);
  } else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
});
for (let index = 0; index < size; index++) cluster.fork();

function stopAll(code: number): void {
  stopping = true;
  for (const child of Object.values(cluster.workers ?? {})) child?.process.kill('SIGTERM');
  setTimeout(() => process.exit(code), 8000).unref();
  if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(code);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stopAll(0));
