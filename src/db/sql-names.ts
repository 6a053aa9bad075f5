import { getTableColumns, getTableName, type Table } from 'drizzle-orm';

/** A table's name (`$table`) and its columns' names, keyed as the schema declares them. */
export type SqlNames<T extends Table> = { readonly [K in keyof T['_']['columns']]: string } & {
  readonly $table: string;
};

// Hand-written SQL spells names bare, as it did before they came from the
// schema; a name that would need quoting is refused at module load rather
// than sent as broken SQL.
const BARE_NAME = /^[a-z_][a-z0-9_]*$/;

function bare(name: string): string {
  if (!BARE_NAME.test(name))
    throw new Error(`"${name}" needs quoting in SQL: hand-written statements spell names bare`);
  return name;
}

/**
 * The names hand-written SQL uses for a drizzle table, taken from the schema:
 * `const M = sqlNames(messages)` gives `M.$table` ("messages") and
 * `M.expiresAt` ("expires_at"). A column renamed in TypeScript no longer
 * compiles here; one renamed in the database changes the statements' text,
 * which their snapshots catch (test/unit/sql-snapshots.spec.ts).
 */
export function sqlNames<T extends Table>(table: T): SqlNames<T> {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => [
    key,
    bare(column.name),
  ]);
  return Object.freeze({
    ...Object.fromEntries(columns),
    $table: bare(getTableName(table)),
  }) as SqlNames<T>;
}
