/**
 * What the librdkafka benches (bench/broker.ts, bench/cluster.ts) share: the
 * producer settings and the data file their clients send, and the number
 * formatting and machine notes of their reports. A module of its own
 * because each bench runs its main when imported.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

export const MB = 1024 * 1024;
export const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** librdkafka producer settings for large batches: ~1 MB batches, deep queues. */
export function producerConfig(acks: string): Record<string, string> {
  return {
    acks,
    'linger.ms': '20',
    'batch.size': '1000000', // per-partition batch, under the broker's message.max.bytes (1048588)
    'batch.num.messages': '1000000',
    'message.max.bytes': '16000000', // a ProduceRequest may carry a batch for each partition
    'queue.buffering.max.messages': '2000000',
    'queue.buffering.max.kbytes': '2097151',
    'compression.type': 'none',
  };
}

/** librdkafka settings as kcat's `-X k=v` arguments. */
export const xArgs = (conf: Record<string, string>): string[] => Object.entries(conf).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
/** librdkafka settings as bench/py scripts' `k=v` arguments. */
export const kvArgs = (conf: Record<string, string>): string[] => Object.entries(conf).map(([k, v]) => `${k}=${v}`);

/** A client run that failed, with the ends of its output. */
export function fail(what: string, r: { code: number | null; stdout: string; stderr: string }): never {
  throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
}

/** N lines of `size` printable bytes (kcat -l splits on newlines). */
export async function writeDataFile(path: string, records: number, size: number): Promise<void> {
  const pool = Buffer.alloc(64 * 1024 + size);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let seed = 12345;
  for (let i = 0; i < pool.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pool[i] = alphabet.charCodeAt(seed % alphabet.length);
  }
  const fh = await open(path, 'w');
  try {
    const perChunk = Math.max(1, Math.floor((4 * MB) / (size + 1)));
    for (let done = 0; done < records; ) {
      const n = Math.min(perChunk, records - done);
      const chunk = Buffer.allocUnsafe(n * (size + 1));
      for (let i = 0; i < n; i++) {
        const from = ((done + i) * 977) % (64 * 1024);
        pool.copy(chunk, i * (size + 1), from, from + size);
        chunk[i * (size + 1) + size] = 0x0a;
      }
      await fh.write(chunk);
      done += n;
    }
  } finally {
    await fh.close();
  }
}
