/**
 * The cleaner's key -> latest offset map for one pass, bounded by a byte
 * budget (log.cleaner.dedupe.buffer.size shared by the cleaner threads,
 * times log.cleaner.io.buffer.load.factor).
 *
 * Kafka keeps 16-byte MD5 digests in a fixed array and accepts the tiny risk
 * of a collision; here a key is the exact key bytes (as a latin1 string, one
 * char per byte), so two different keys never share an entry. The budget is
 * charged per entry with the key length plus an estimate of what a JS Map
 * entry costs, so the real heap use stays in the budget's order.
 */

/** Estimated heap bytes of one Map entry beyond the key's own bytes. */
export const ENTRY_OVERHEAD_BYTES = 64;

export class OffsetMap {
  private readonly entries = new Map<string, number>();
  private used = 0;
  /** Highest offset put so far, -1 when empty. */
  latestOffset = -1;

  constructor(readonly budgetBytes: number) {}

  static cost(keyLength: number): number {
    return keyLength + ENTRY_OVERHEAD_BYTES;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes charged so far. */
  get bytes(): number {
    return this.used;
  }

  /** Whether `extra` more bytes may be charged. */
  fits(extra: number): boolean {
    return this.used + extra <= this.budgetBytes;
  }

  /** Records `offset` for `key` unless a later offset is already there. */
  put(key: Buffer, offset: number): void {
    const k = key.toString('latin1');
    const previous = this.entries.get(k);
    if (previous === undefined) this.used += OffsetMap.cost(key.length);
    else if (previous >= offset) return;
    this.entries.set(k, offset);
    if (offset > this.latestOffset) this.latestOffset = offset;
  }

  get(key: Buffer): number | undefined {
    return this.entries.get(key.toString('latin1'));
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
    this.latestOffset = -1;
  }
}
