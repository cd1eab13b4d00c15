/**
 * @platformatic/kafka helpers: record conversion and a group-less reader
 * built on the client's own Consumer.fetch (Fetch by topic id; groups do not
 * exist yet, so consume() cannot be used).
 */
import { Consumer, type MessageToProduce } from '@platformatic/kafka';
import type { ConsumedRecord, Header, TestRecord } from './support.js';

export const clientOptions = (bootstrap: string) => ({
  clientId: 'ganglion-interop',
  bootstrapBrokers: [bootstrap],
  retries: 2,
  retryDelay: 100,
  timeout: 10_000,
});

export function toPlatformaticMessage(topic: string, r: TestRecord): MessageToProduce {
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of r.headers) headers.set(Buffer.from(name), value ?? Buffer.alloc(0));
  // The client's types say Buffer, but it writes null keys and values as Kafka nulls.
  return { topic, key: r.key ?? undefined, value: r.value as Buffer, headers };
}

export interface PlatformaticFetchOptions {
  from?: Record<number, number>;
  maxWaitTime?: number;
  timeoutMs?: number;
}

/** Reads `partitions` of `topic` with the client's Fetch until each reaches its high watermark. */
export async function platformaticFetchAll(
  consumer: Consumer,
  topic: string,
  partitions: number[],
  options: PlatformaticFetchOptions = {},
): Promise<ConsumedRecord[]> {
  const metadata = await consumer.metadata({ topics: [topic] });
  const t = metadata.topics.get(topic);
  if (!t) throw new Error(`no metadata for ${topic}`);
  const next = new Map(partitions.map((p) => [p, BigInt(options.from?.[p] ?? 0)]));
  const done = new Set<number>();
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (done.size < partitions.length) {
    if (Date.now() > deadline) throw new Error(`platformatic fetch of ${topic} timed out with ${out.length} records`);
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) {
      if (done.has(p)) continue;
      const leader = t.partitions[p]!.leader;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    for (const [node, ps] of byLeader) {
      const response = await consumer.fetch({
        node,
        maxWaitTime: options.maxWaitTime ?? 100,
        topics: [
          {
            topicId: t.id,
            partitions: ps.map((p) => ({ partition: p, fetchOffset: next.get(p)!, partitionMaxBytes: 4 * 1024 * 1024, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })),
          },
        ],
      });
      for (const topicResponse of response.responses) {
        for (const pr of topicResponse.partitions) {
          if (pr.errorCode !== 0) throw new Error(`platformatic fetch ${topic}-${pr.partitionIndex}: error ${pr.errorCode}`);
          for (const batch of pr.records ?? []) {
            for (const r of batch.records) {
              const offset = batch.firstOffset + BigInt(r.offsetDelta);
              if (offset < next.get(pr.partitionIndex)!) continue;
              const headers: Header[] = r.headers.map(([k, v]) => [k?.toString('utf8') ?? '', v]);
              out.push({
                partition: pr.partitionIndex,
                offset: Number(offset),
                timestamp: Number(batch.firstTimestamp + r.timestampDelta),
                key: r.key,
                value: r.value,
                headers,
              });
              next.set(pr.partitionIndex, offset + 1n);
            }
          }
          if (next.get(pr.partitionIndex)! >= pr.highWatermark) done.add(pr.partitionIndex);
        }
      }
    }
  }
  return out;
}
