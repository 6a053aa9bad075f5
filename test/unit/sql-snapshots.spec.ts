import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PgDialect } from 'drizzle-orm/pg-core';
import { messages } from '../../src/db/schema/index.js';
import { sqlNames } from '../../src/db/sql-names.js';
import { drizzleStatement, type RegisteredStatement } from '../../src/db/statements.js';
import {
  loadRegisteredStatements,
  registeringFiles,
  sourceFiles,
} from '../support/registered-statements.js';

// The hand-written SQL of src/ takes its table and column names from the
// drizzle schema (src/db/sql-names.ts) and registers each statement's final
// text (src/db/statements.ts). This test loads every module that registers
// one and compares each text with its reviewed copy in test/sql-snapshots/,
// one file per statement: a schema rename, or an edit of a tuned statement,
// fails here until someone has looked at the new text.
//
// After a reviewed change, write the copies again and commit them with it:
//   UPDATE_SQL_SNAPSHOTS=1 NODE_OPTIONS=--experimental-vm-modules npx jest test/unit/sql-snapshots.spec.ts
// (or `npm run sql:snapshots`), then read `git diff test/sql-snapshots/`.

const SNAPSHOTS = 'test/sql-snapshots';
const UPDATE = process.env.UPDATE_SQL_SNAPSHOTS === '1';

const statements = await loadRegisteredStatements();

const snapshotFile = (name: string) => join(SNAPSHOTS, `${name}.sql`);
const snapshotOf = (name: string, { text, prepared }: RegisteredStatement) =>
  `-- ${name}: ${prepared ? 'a named prepared statement' : 'sent unprepared'}\n${text}\n`;

if (UPDATE) {
  rmSync(SNAPSHOTS, { recursive: true, force: true });
  mkdirSync(SNAPSHOTS, { recursive: true });
  for (const [name, statement] of statements)
    writeFileSync(snapshotFile(name), snapshotOf(name, statement));
}

describe('SQL snapshots', () => {
  it('finds the statements of the repositories', () => {
    expect(registeringFiles.length).toBeGreaterThan(5);
    expect(statements.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'messages-insert-batch',
        'deliveries-ack',
        'messages-delete-expired',
      ]),
    );
  });

  it.each(statements)('%s is as reviewed', (name, statement) => {
    const file = snapshotFile(name);
    if (!existsSync(file))
      throw new Error(`${file} does not exist: review the statement, then write its snapshot`);
    expect(snapshotOf(name, statement)).toBe(readFileSync(file, 'utf8'));
  });

  it('keeps no snapshot of a statement that is gone', () => {
    const registered = new Set(statements.map(([name]) => snapshotFile(name)));
    const kept = readdirSync(SNAPSHOTS).map((file) => join(SNAPSHOTS, file));
    expect(kept.filter((file) => !registered.has(file))).toEqual([]);
  });

  it('leaves no named statement outside the registry', () => {
    // A query config written inline, as they all were before the registry.
    const inline = /\bname:\s*['"`][^'"`]*['"`],\s*text:/;
    expect(sourceFiles.filter((file) => inline.test(readFileSync(file, 'utf8')))).toEqual([]);
  });
});

describe('sqlNames', () => {
  it("spells a table's names as the schema declares them", () => {
    const names = sqlNames(messages);
    expect(names.$table).toBe('messages');
    expect(names.expiresAt).toBe('expires_at');
    expect(Object.isFrozen(names)).toBe(true);
  });
});

describe('drizzleStatement', () => {
  it('sends one parameter per placeholder, in order of appearance', () => {
    const bind = drizzleStatement(
      'test-drizzle-statement',
      'SELECT $1::uuid, $2::text WHERE $1 IS NOT NULL',
    );
    const query = new PgDialect().sqlToQuery(bind(['id', 'why']));
    expect(query.sql).toBe('SELECT $1::uuid, $2::text WHERE $3 IS NOT NULL');
    expect(query.params).toEqual(['id', 'why', 'id']);
  });
});
