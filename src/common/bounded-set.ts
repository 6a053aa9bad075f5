/**
 * A map that holds at most `capacity` entries: setting a new key in a full
 * one forgets the oldest. Its storage is made on the first set, so an idle
 * owner (one per open socket) costs next to nothing.
 */
export class BoundedMap<K, V> {
  private entries: Map<K, V> | undefined;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries?.size ?? 0;
  }

  has(key: K): boolean {
    return this.entries?.has(key) ?? false;
  }

  get(key: K): V | undefined {
    return this.entries?.get(key);
  }

  set(key: K, value: V): void {
    this.entries ??= new Map();
    if (this.entries.has(key)) return;
    if (this.entries.size >= this.capacity)
      this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries?.delete(key);
  }
}

/** A BoundedMap of keys alone (one object per owner, not two). */
export class BoundedSet<T> extends BoundedMap<T, true> {
  add(entry: T): void {
    this.set(entry, true);
  }
}
