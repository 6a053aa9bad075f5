import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RegisteredStatement, registeredStatements } from '../../src/db/statements.js';

const REGISTRY = join('src', 'db', 'statements.ts');

/** The source files of src/ (tests excluded). */
export const sourceFiles = (readdirSync('src', { recursive: true }) as string[])
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
  .map((file) => join('src', file));

/** The modules that register a statement, found by their calls so that a new one cannot be missed. */
export const registeringFiles = sourceFiles.filter(
  (file) =>
    file !== REGISTRY &&
    /\b(preparedStatement|statementText|drizzleStatement)\(/.test(readFileSync(file, 'utf8')),
);

/** Every hand-written statement of src/, by name (loads each registering module). */
export async function loadRegisteredStatements(): Promise<[string, RegisteredStatement][]> {
  for (const file of registeringFiles) await import(`../../${file.replace(/\.ts$/, '.js')}`);
  return [...registeredStatements()].sort(([a], [b]) => a.localeCompare(b));
}
