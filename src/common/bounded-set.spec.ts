import { BoundedMap, BoundedSet } from './bounded-set.js';

describe('BoundedSet', () => {
  it('forgets the oldest entry when a new one comes to a full set', () => {
    const set = new BoundedSet<string>(2);
    set.add('a');
    set.add('b');
    set.add('a'); // already there: nothing moves
    set.add('c');
    expect([set.has('a'), set.has('b'), set.has('c'), set.size]).toEqual([false, true, true, 2]);
  });

  it('deletes, and answers before anything was added', () => {
    const set = new BoundedSet<string>(3);
    expect([set.has('a'), set.size]).toEqual([false, 0]);
    set.add('a');
    set.delete('a');
    expect([set.has('a'), set.size]).toEqual([false, 0]);
  });
});

describe('BoundedMap', () => {
  it('keeps the first value of a key and forgets the oldest key when full', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1);
    map.set('a', 2); // already there: keeps 1
    map.set('b', 3);
    map.set('c', 4);
    expect([map.get('a'), map.get('b'), map.get('c'), map.size]).toEqual([undefined, 3, 4, 2]);
  });
});
