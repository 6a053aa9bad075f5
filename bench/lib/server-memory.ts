// Where an API process's memory is, from its own /metrics (prom-client's
// default Node.js metrics, under the server's `supernode_` prefix): the V8 heap (used and reserved, and the young
// generation's share) and the memory outside it (buffers, native handles).

export interface ServerMemory {
  heapUsedKiB: number;
  heapTotalKiB: number;
  youngGenerationKiB: number;
  externalKiB: number;
}

const METRICS: Record<keyof ServerMemory, string> = {
  heapUsedKiB: 'supernode_nodejs_heap_size_used_bytes',
  heapTotalKiB: 'supernode_nodejs_heap_size_total_bytes',
  youngGenerationKiB: 'supernode_nodejs_heap_space_size_total_bytes{space="new"}',
  externalKiB: 'supernode_nodejs_external_memory_bytes',
};

/** The figures above from a prom-client text exposition (null for one it lacks). */
export function memoryFromMetrics(text: string): Partial<ServerMemory> {
  const memory: Partial<ServerMemory> = {};
  for (const line of text.split('\n')) {
    for (const [field, name] of Object.entries(METRICS) as [keyof ServerMemory, string][]) {
      if (line.startsWith(`${name} `))
        memory[field] = Math.round(Number(line.slice(name.length + 1)) / 1024);
    }
  }
  return memory;
}

/** The API's memory now (its /metrics, open on the public port in benchmark runs). */
export async function serverMemory(baseUrl: string): Promise<Partial<ServerMemory>> {
  const response = await fetch(new URL('/metrics', baseUrl), { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return memoryFromMetrics(await response.text());
}
