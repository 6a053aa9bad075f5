/**
 * A map that holds at most `capacity` entries: setting a new key in a full
 * one forgets the oldest. (An owner with many idle instances makes it on
 * first use, as StreamConnection does.)
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.entries.has(key)) return;
    if (this.entries.size >= this.capacity)
      this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}

/** A BoundedMap of keys alone (one object per owner, not two). */
export class BoundedSet<T> extends BoundedMap<T, true> {
  add(entry: T): void {
    this.set(entry, true);
  }
}
