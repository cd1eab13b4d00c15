/**
 * Delayed operations (Kafka's "purgatory"): a request that cannot be answered
 * yet — a fetch waiting for min_bytes, a produce waiting for acks=all — parks
 * here, keyed by the partitions it watches. Whoever changes a partition
 * (an append, a high-watermark move) calls `notify`, which re-checks only the
 * operations watching that partition: no polling, no busy waiting.
 */
interface Waiter {
  keys: string[];
  isSatisfied(): boolean;
  resolve(satisfied: boolean): void;
  timer: NodeJS.Timeout | null;
}

export class Purgatory {
  private readonly watchers = new Map<string, Set<Waiter>>();
  private closed = false;

  /**
   * Resolves true as soon as `isSatisfied()` holds after a notify on one of
   * `keys`, or false when `timeoutMs` passes first (or the purgatory closes).
   */
  wait(keys: string[], timeoutMs: number, isSatisfied: () => boolean): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (isSatisfied()) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { keys, isSatisfied, resolve, timer: null };
      waiter.timer = setTimeout(() => this.complete(waiter, false), timeoutMs);
      for (const key of keys) {
        let set = this.watchers.get(key);
        if (!set) this.watchers.set(key, (set = new Set()));
        set.add(waiter);
      }
    });
  }

  notify(key: string): void {
    const set = this.watchers.get(key);
    if (!set) return;
    for (const waiter of [...set]) {
      if (waiter.isSatisfied()) this.complete(waiter, true);
    }
  }

  /** Number of parked operations (for metrics and tests). */
  get size(): number {
    const all = new Set<Waiter>();
    for (const set of this.watchers.values()) for (const w of set) all.add(w);
    return all.size;
  }

  /** Completes every parked operation as not satisfied (shutdown answers them at once). */
  close(): void {
    this.closed = true;
    const all = new Set<Waiter>();
    for (const set of this.watchers.values()) for (const w of set) all.add(w);
    for (const waiter of all) this.complete(waiter, false);
  }

  private complete(waiter: Waiter, satisfied: boolean): void {
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.timer = null;
    for (const key of waiter.keys) {
      const set = this.watchers.get(key);
      if (!set) continue;
      set.delete(waiter);
      if (set.size === 0) this.watchers.delete(key);
    }
    waiter.resolve(satisfied);
  }
}
