/** Small helpers shared by the client modules. */

/** A partition of a topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** `topic-partition`, Kafka's usual rendering and our map key. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (it never rejects:
 * callers check their own closed state afterwards).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Exponential backoff as the Java client computes it: `base * 2^(attempt-1)`
 * capped at `max`, with ±20% jitter. `attempt` counts from 1.
 */
export function backoff(attempt: number, base: number, max: number): number {
  if (base <= 0) return 0;
  const exp = Math.min(base * 2 ** Math.max(0, attempt - 1), Math.max(base, max));
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.max(0, Math.round(exp * jitter));
}

/**
 * A level-triggered wake-up: `wait(ms)` resolves on the next `notify()` (or
 * at once when one happened since the last wait), or after `ms`.
 */
export class Signal {
  private waiters: Array<() => void> = [];
  private pending = false;

  notify(): void {
    this.pending = true;
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves true when notified, false on timeout. */
  wait(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        clearTimeout(timer);
        this.pending = false;
        resolve(true);
      };
      timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, ms);
      this.waiters.push(wake);
    });
  }
}

/** Groups items by a key, keeping first-seen order. */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

export const noop = (): void => undefined;
