import { ownerOf, summarizeProfile } from './profile.js';

describe('ownerOf', () => {
  it('names packages, our files, Node and V8 entries', () => {
    expect(ownerOf('file:///w/node_modules/pg/lib/client.js', 'query')).toBe('pg');
    expect(ownerOf('file:///w/node_modules/@nestjs/core/router.js', 'x')).toBe('@nestjs/core');
    expect(ownerOf('file:///w/dist/src/messages/inbox.service.js', 'ack')).toBe(
      'src/messages/inbox.service.js',
    );
    expect(ownerOf('node:internal/stream_base_commons', 'writev')).toBe('node internals');
    expect(ownerOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(ownerOf('', 'writeUtf8String')).toBe('(native)');
  });
});

describe('summarizeProfile', () => {
  it('sums self time by owner and function, leaving idle out', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    const summary = summarizeProfile({
      nodes: [
        { id: 1, callFrame: frame('(idle)', '') },
        { id: 2, callFrame: frame('query', 'file:///w/node_modules/pg/lib/client.js') },
        { id: 3, callFrame: frame('(garbage collector)', '') },
      ],
      samples: [1, 2, 3, 2, 1],
      timeDeltas: [500, 100, 50, 100, 500],
    });
    expect(summary.busyUs).toBe(250);
    expect(summary.byOwner).toEqual([
      ['pg', 200],
      ['(garbage collector)', 50],
    ]);
    expect(summary.byFunction[0]).toEqual(['query pg:10', 200]);
  });
});
