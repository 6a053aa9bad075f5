import { packBytes } from './pack-bytes.js';

describe('packBytes', () => {
  it('lays byte strings end to end, each found again by its offset and length', () => {
    const parts = [
      Buffer.from('abc'),
      Buffer.alloc(0),
      Buffer.from([0, 255, 10]),
      Buffer.from('z'),
    ];
    const { blob, offsets, lengths } = packBytes(parts);
    expect(offsets).toEqual([0, 3, 3, 6]);
    expect(lengths).toEqual([3, 0, 3, 1]);
    const unpacked = offsets.map((offset, i) => blob.subarray(offset, offset + lengths[i]));
    expect(unpacked).toEqual(parts);
  });
});
