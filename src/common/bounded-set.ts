/**
 * A set that holds at most `capacity` entries: adding to a full one forgets
 * the oldest. Its storage is made on the first add, so an idle owner (one per
 * open socket) costs next to nothing.
 */
export class BoundedSet<T> {
  private entries: Set<T> | undefined;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries?.size ?? 0;
  }

  has(entry: T): boolean {
    return this.entries?.has(entry) ?? false;
  }

  add(entry: T): void {
    this.entries ??= new Set();
    if (this.entries.has(entry)) return;
    if (this.entries.size >= this.capacity)
      this.entries.delete(this.entries.values().next().value as T);
    this.entries.add(entry);
  }

  delete(entry: T): void {
    this.entries?.delete(entry);
  }
}
