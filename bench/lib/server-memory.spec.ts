import { memoryFromMetrics } from './server-memory.js';

describe('memoryFromMetrics', () => {
  it('reads the heap, the young generation and external memory in KiB', () => {
    const text = [
      '# HELP supernode_nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
      'supernode_nodejs_heap_size_used_bytes 20971520',
      'supernode_nodejs_heap_size_total_bytes 41943040',
      'supernode_nodejs_heap_space_size_total_bytes{space="old"} 30000000',
      'supernode_nodejs_heap_space_size_total_bytes{space="new"} 16777216',
      'supernode_nodejs_external_memory_bytes 2048',
    ].join('\n');
    expect(memoryFromMetrics(text)).toEqual({
      heapUsedKiB: 20480,
      heapTotalKiB: 40960,
      youngGenerationKiB: 16384,
      externalKiB: 2,
    });
  });

  it('leaves out what the text lacks', () => {
    expect(memoryFromMetrics('supernode_nodejs_heap_size_used_bytes 1024\n')).toEqual({
      heapUsedKiB: 1,
    });
  });
});
