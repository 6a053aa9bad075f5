/** The innermost `cause` (drizzle wraps driver errors; the driver's error has the code). */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (
    let depth = 0;
    depth < 5 && current instanceof Error && current.cause !== undefined;
    depth++
  ) {
    current = current.cause;
  }
  return current;
}

/**
 * An error as it may be logged: the root error's class, code and message,
 * never a stack or a wrapper's message (drizzle's wrapper quotes the query's
 * parameters, which can be keys or token hashes).
 */
export function describeError(error: unknown): string {
  const root = rootCause(error);
  if (!(root instanceof Error)) return typeof root;
  const code = (root as { code?: unknown }).code;
  return `${root.name}${typeof code === 'string' ? ` (${code})` : ''}: ${root.message.slice(0, 200)}`;
}
