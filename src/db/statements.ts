import { type SQL, sql } from 'drizzle-orm';

// Every hand-written statement's final text, by name: the snapshot test
// compares each with its reviewed copy (test/unit/sql-snapshots.spec.ts).
const registered = new Map<string, RegisteredStatement>();

export interface RegisteredStatement {
  text: string;
  /** Prepared under its name on each connection (planned once), or sent as plain text. */
  prepared: boolean;
}

function register(name: string, text: string, prepared: boolean): void {
  const known = registered.get(name);
  // PostgreSQL refuses a second text under a prepared statement's name.
  if (known && (known.text !== text || known.prepared !== prepared))
    throw new Error(`two statements are named ${name}`);
  registered.set(name, { text, prepared });
}

/**
 * A named prepared statement: PostgreSQL plans it once per connection, so
 * its text is built once, here, when its module loads. Pass it to
 * `pool.query({ ...statement, values })`.
 */
export function preparedStatement(
  name: string,
  text: string,
): Readonly<{ name: string; text: string }> {
  register(name, text, true);
  return Object.freeze({ name, text });
}

/** The text of a statement that is not prepared (rare, or dynamic around it), registered for its snapshot. */
export function statementText(name: string, text: string): string {
  register(name, text, false);
  return text;
}

/**
 * A statement that runs on a drizzle executor (inside a caller's
 * transaction): its text, with $1…$n placeholders, is split once; each call
 * binds the values to it. drizzle numbers the parameters again in order of
 * appearance, so a placeholder used twice is sent twice.
 */
export function drizzleStatement(name: string, text: string): (values: unknown[]) => SQL {
  register(name, text, false);
  // Even indexes are SQL text, odd ones the numbers of placeholders.
  const chunks = text.split(/\$(\d+)/);
  return (values) =>
    sql.join(
      chunks.map((chunk, index) =>
        index % 2 === 0 ? sql.raw(chunk) : sql`${values[Number(chunk) - 1]}`,
      ),
    );
}

/** Every statement registered so far (by the modules loaded), by name. */
export function registeredStatements(): ReadonlyMap<string, RegisteredStatement> {
  return registered;
}
