/** A progress line from a load process, printed by the orchestrator with the process label. */
export function log(text: string): void {
  process.send?.({ type: 'log', text });
}
