import { createHash } from 'node:crypto';

/** One entry of a hash-chained log (audit_log, purge_log). */
export interface ChainedEntry {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  subject: string | null;
  details: unknown;
}

export interface ChainedRow extends ChainedEntry {
  prevHash: Buffer;
  hash: Buffer;
}

/** The previous hash of the first row. */
export const GENESIS_HASH = Buffer.alloc(32);

/** JSON with object keys sorted, so that a value read back from jsonb hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** SHA-256 over the previous hash and the entry's canonical form. */
export function entryHash(entry: ChainedEntry, prevHash: Buffer): Buffer {
  const content = canonicalJson([
    entry.seq,
    entry.at.toISOString(),
    entry.actor,
    entry.action,
    entry.subject,
    entry.details,
  ]);
  return createHash('sha256').update(prevHash).update(content).digest();
}

export type ChainFault =
  | { seq: number; kind: 'edited'; detail: string }
  | { seq: number; kind: 'missing'; detail: string }
  | { seq: number; kind: 'out_of_order'; detail: string };

export interface ChainCheck {
  rows: number;
  /** The hash of the last row: keep it elsewhere, so that a cut tail shows too. */
  head: string;
  faults: ChainFault[];
}

/**
 * Checks rows read in seq order: numbered 1, 2, 3… without a gap, each
 * pointing to its predecessor's hash, each hash matching its content. Names
 * every row that breaks the chain. A row removed from the end is only
 * visible against a head kept elsewhere (`expectedHead`).
 */
export function verifyChain(rows: ChainedRow[], expectedHead?: string): ChainCheck {
  const faults: ChainFault[] = [];
  let previous: ChainedRow | undefined;
  for (const row of rows) {
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (row.seq !== expectedSeq) {
      faults.push(
        row.seq > expectedSeq
          ? {
              seq: expectedSeq,
              kind: 'missing',
              detail: `rows ${expectedSeq}–${row.seq - 1} are missing (deleted)`,
            }
          : {
              seq: row.seq,
              kind: 'out_of_order',
              detail: `row ${row.seq} comes after ${previous?.seq}`,
            },
      );
    }
    const expectedPrev = previous?.hash ?? GENESIS_HASH;
    if (!row.prevHash.equals(expectedPrev)) {
      faults.push({
        seq: row.seq,
        kind: 'out_of_order',
        detail: `row ${row.seq} does not follow the row before it (its previous hash differs)`,
      });
    }
    if (!row.hash.equals(entryHash(row, row.prevHash))) {
      faults.push({
        seq: row.seq,
        kind: 'edited',
        detail: `row ${row.seq} was changed (its hash does not match its content)`,
      });
    }
    previous = row;
  }
  const head = (previous?.hash ?? GENESIS_HASH).toString('hex');
  if (expectedHead && expectedHead !== head) {
    faults.push({
      seq: (previous?.seq ?? 0) + 1,
      kind: 'missing',
      detail: `the log ends at ${head}, not at the head kept elsewhere (${expectedHead}): rows were cut from its end, or it was rewritten`,
    });
  }
  return { rows: rows.length, head, faults };
}
