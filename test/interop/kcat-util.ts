/** kcat helpers shared by the interop tests: produce from text, consume as JSON. */
import { runOk } from '../helpers/broker.js';
import type { ConsumedRecord } from './support.js';

interface KcatJson {
  partition: number;
  offset: number;
  ts: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

/** Parses `kcat -C -J` lines (text payloads). */
export function parseKcatJson(stdout: Buffer): ConsumedRecord[] {
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as KcatJson)
    .map((m) => {
      const headers: [string, Buffer | null][] = [];
      const h = m.headers ?? [];
      for (let i = 0; i < h.length; i += 2) headers.push([h[i]!, h[i + 1] === null ? null : Buffer.from(h[i + 1]!)]);
      return {
        partition: m.partition,
        offset: m.offset,
        timestamp: m.ts,
        key: m.key === null ? null : Buffer.from(m.key),
        value: m.payload === null ? null : Buffer.from(m.payload),
        headers,
      };
    });
}

/** Reads every partition of `topic` from the beginning to the end. */
export async function kcatConsumeAll(bootstrap: string, topic: string, extra: string[] = []): Promise<ConsumedRecord[]> {
  const out = await runOk('kcat', ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q', '-X', 'fetch.wait.max.ms=100', ...extra], { timeoutMs: 20_000 });
  return parseKcatJson(out);
}

/** Produces `input` with kcat (murmur2 partitioner) and the given extra arguments. */
export async function kcatProduce(bootstrap: string, topic: string, input: string, args: string[]): Promise<void> {
  await runOk('kcat', ['-b', bootstrap, '-P', '-t', topic, '-X', 'topic.partitioner=murmur2_random', ...args], { input, timeoutMs: 20_000 });
}
