import { type ChainedRow, entryHash, GENESIS_HASH, verifyChain } from './hash-chain.js';

function chain(count: number): ChainedRow[] {
  const rows: ChainedRow[] = [];
  let prevHash: Buffer = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const entry = {
      seq,
      at: new Date(Date.UTC(2026, 11, 3, 10, seq)),
      actor: 'cred-1',
      action: seq % 2 ? 'hold' : 'export',
      subject: `account-${seq}`,
      details: { reference: `case ${seq}`, nested: { b: 2, a: 1 } },
    };
    const hash = entryHash(entry, prevHash);
    rows.push({ ...entry, prevHash, hash });
    prevHash = hash;
  }
  return rows;
}

describe('verifyChain', () => {
  it('accepts an intact chain and gives its head', () => {
    const rows = chain(5);
    expect(verifyChain(rows)).toEqual({
      rows: 5,
      head: rows[4].hash.toString('hex'),
      faults: [],
    });
  });

  it('hashes details the same whatever the order of their keys (jsonb reorders them)', () => {
    const rows = chain(2);
    rows[1] = { ...rows[1], details: { nested: { a: 1, b: 2 }, reference: 'case 2' } };
    expect(verifyChain(rows).faults).toEqual([]);
  });

  it('names an edited row', () => {
    const rows = chain(5);
    rows[2] = { ...rows[2], subject: 'someone else' };
    expect(verifyChain(rows).faults).toEqual([
      { seq: 3, kind: 'edited', detail: expect.stringMatching(/row 3 was changed/) },
    ]);
  });

  it('names a deleted row', () => {
    const rows = chain(5);
    rows.splice(1, 1);
    expect(verifyChain(rows).faults.map((fault) => [fault.seq, fault.kind])).toEqual([
      [2, 'missing'],
      [3, 'out_of_order'],
    ]);
  });

  it('names rows swapped', () => {
    const rows = chain(4);
    [rows[1], rows[2]] = [rows[2], rows[1]];
    const faults = verifyChain(rows).faults;
    expect(faults.length).toBeGreaterThan(0);
    expect(faults.every((fault) => fault.seq === 2 || fault.seq === 3 || fault.seq === 4)).toBe(
      true,
    );
  });

  it('sees a cut tail only against a head kept elsewhere', () => {
    const rows = chain(5);
    const head = rows[4].hash.toString('hex');
    expect(verifyChain(rows.slice(0, 4)).faults).toEqual([]);
    expect(verifyChain(rows.slice(0, 4), head).faults).toEqual([
      { seq: 5, kind: 'missing', detail: expect.stringMatching(/cut from its end/) },
    ]);
  });

  it('sees a row re-hashed after an edit: the next one no longer follows it', () => {
    const rows = chain(3);
    const edited = { ...rows[1], subject: 'rewritten' };
    rows[1] = { ...edited, hash: entryHash(edited, edited.prevHash) };
    expect(verifyChain(rows).faults).toEqual([
      { seq: 3, kind: 'out_of_order', detail: expect.stringMatching(/row 3 does not follow/) },
    ]);
  });
});
