import { Batcher, groupRowsBy } from './batcher.js';

/** A batcher that answers each input with itself once `release()` is called, and records its batches. */
function gatedEcho(options: ConstructorParameters<typeof Batcher<number, number>>[1]) {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const batcher = new Batcher(async (inputs: number[]) => {
    batches.push(inputs);
    await gate;
    return inputs;
  }, options);
  return { batches, release: () => release(), batcher };
}

describe('Batcher', () => {
  it('answers the calls of one event-loop turn with a single batch call, each with its own result', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher(async (keys: number[]) => {
      batches.push(keys);
      return keys.map((key) => key * 10);
    });
    const results = await Promise.all([batcher.load(1), batcher.load(2), batcher.load(3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('shares the first input’s result between calls with the same key in a batch', async () => {
    const batches: { id: string; text: string }[][] = [];
    const batcher = new Batcher(
      async (inputs: { id: string; text: string }[]) => {
        batches.push(inputs);
        return inputs.map((input) => input.text.toUpperCase());
      },
      { keyOf: (input) => input.id },
    );
    const results = await Promise.all([
      batcher.load({ id: 'a', text: 'first' }),
      batcher.load({ id: 'a', text: 'second' }),
    ]);
    expect(results).toEqual(['FIRST', 'FIRST']);
    expect(batches).toEqual([[{ id: 'a', text: 'first' }]]);
  });

  it('splits at the maximum batch size', async () => {
    const sizes: number[] = [];
    const batcher = new Batcher(
      async (keys: number[]) => {
        sizes.push(keys.length);
        return keys;
      },
      { maxBatch: 2 },
    );
    await Promise.all([1, 2, 3, 4, 5].map((key) => batcher.load(key)));
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('rejects every caller of a failed batch, and later batches still run', async () => {
    let fail = true;
    const batcher = new Batcher(async (keys: number[]) => {
      if (fail) throw new Error('down');
      return keys;
    });
    await expect(Promise.all([batcher.load(1), batcher.load(2)])).rejects.toThrow('down');
    fail = false;
    await expect(batcher.load(3)).resolves.toBe(3);
  });
});

describe('Batcher with lingerMs', () => {
  it('gathers the calls of several event-loop turns into one batch', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher(
      async (keys: number[]) => {
        batches.push(keys);
        return keys;
      },
      { lingerMs: 30 },
    );
    const first = batcher.load(1);
    await new Promise((resolve) => setImmediate(resolve)); // a later turn
    const second = batcher.load(2);
    await expect(Promise.all([first, second])).resolves.toEqual([1, 2]);
    expect(batches).toEqual([[1, 2]]);
  });
});

describe('groupRowsBy', () => {
  it('returns one group per key in key order, empty where no row matched', () => {
    const rows = [
      { account: 'b', device: 'b1' },
      { account: 'a', device: 'a1' },
      { account: 'b', device: 'b2' },
    ];
    expect(groupRowsBy(['a', 'c', 'b'], rows, (row) => row.account)).toEqual([
      [{ account: 'a', device: 'a1' }],
      [],
      [
        { account: 'b', device: 'b1' },
        { account: 'b', device: 'b2' },
      ],
    ]);
  });
});

describe('Batcher with maxInFlight', () => {
  it('holds new calls while the batches in flight run, then sends them as one batch', async () => {
    const batches: number[][] = [];
    const finishers: (() => void)[] = [];
    const batcher = new Batcher(
      (keys: number[]) =>
        new Promise<number[]>((resolve) => {
          batches.push(keys);
          finishers.push(() => resolve(keys));
        }),
      { maxInFlight: 1 },
    );
    const first = batcher.load(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((key) => batcher.load(key));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);

    finishers[0]();
    expect(await first).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    finishers[1]();
    expect(await Promise.all(later)).toEqual([2, 3, 4]);
  });

  it('splits what waited into batches of at most maxBatch', async () => {
    const { batches, release, batcher } = gatedEcho({ maxInFlight: 2, maxBatch: 2 });
    const all = [1, 2, 3, 4, 5, 6, 7].map((key) => batcher.load(key));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    release();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(batches).toEqual([[1, 2], [3, 4], [5, 6], [7]]);
  });
});

describe('Batcher with maxWeight', () => {
  it('counts each input as 1 without weightOf', async () => {
    const { batches, release, batcher } = gatedEcho({ maxInFlight: 1, maxWeight: 2 });
    const first = batcher.load(1);
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [2, 3, 4].map((key) => batcher.load(key));
    release();
    expect(await Promise.all([first, ...waiting])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([[1], [2, 3], [4]]);
  });

  it('ends a batch before it would weigh more than maxWeight, an input heavier than that alone', async () => {
    const { batches, release, batcher } = gatedEcho({
      maxInFlight: 1,
      weightOf: (size) => size,
      maxWeight: 10,
    });
    const first = batcher.load(1);
    await new Promise((resolve) => setImmediate(resolve));
    // Waiting while the first runs: 4 + 5 fit in one batch, 3 would make it 12.
    const waiting = [4, 5, 3, 25, 2].map((size) => batcher.load(size));
    release();
    expect(await Promise.all([first, ...waiting])).toEqual([1, 4, 5, 3, 25, 2]);
    expect(batches).toEqual([[1], [4, 5], [3], [25], [2]]);
  });
});

describe('Batcher with maxWaiting', () => {
  it('refuses calls past the bound at once while the backend is slow, and accepts them again once it drains', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher(
      async (keys: string[]) => {
        await gate;
        return keys;
      },
      { maxInFlight: 1, maxWaiting: 2, overloaded: () => new Error('busy') },
    );
    const running = batcher.load('a');
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [batcher.load('b'), batcher.load('c')];
    await expect(batcher.load('d')).rejects.toThrow('busy');
    // A call with the key of one that waits adds nothing to the queue: it shares that answer.
    const sameAsWaiting = batcher.load('b');

    release();
    expect(await running).toBe('a');
    expect(await Promise.all([...waiting, sameAsWaiting])).toEqual(['b', 'c', 'b']);
    await expect(batcher.load('d')).resolves.toBe('d');
  });

  it('never refuses while fewer than the bound wait', async () => {
    const batcher = new Batcher(async (keys: number[]) => keys, {
      maxWaiting: 3,
      overloaded: () => new Error('busy'),
    });
    expect(await Promise.all([1, 2, 3].map((key) => batcher.load(key)))).toEqual([1, 2, 3]);
  });
});

describe('Batcher whose run throws', () => {
  it('rejects the callers and frees the slot for the next batch', async () => {
    let calls = 0;
    const batcher = new Batcher(
      (keys: number[]) => {
        calls += 1;
        if (calls === 1) throw new Error('thrown, not rejected');
        return Promise.resolve(keys);
      },
      { maxInFlight: 1 },
    );
    await expect(batcher.load(1)).rejects.toThrow('thrown, not rejected');
    expect(await batcher.load(2)).toBe(2);
  });
});
