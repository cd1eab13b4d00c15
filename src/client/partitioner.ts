/**
 * Partitioning as the Java client does it.
 *
 * A record with a key goes to `toPositive(murmur2(keyBytes)) % numPartitions`
 * over all the topic's partitions, so the same key lands on the same
 * partition from Java, librdkafka's `murmur2_random`, kafkajs's default
 * partitioner and this client. A record without a key (or with
 * `partitioner.ignore.keys`) is sticky: it joins the partition the previous
 * keyless records went to, until that partition's batch fills up or is sent;
 * then a new partition is picked at random among those with a leader
 * (KIP-480), which keeps batches large without hot spots.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** MurmurHash2 (32-bit) with Kafka's seed, as `org.apache.kafka.common.utils.Utils.murmur2`. Returns a signed int32. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[blocks + 2]! << 16;
  if (tail >= 2) h ^= data[blocks + 1]! << 8;
  if (tail >= 1) {
    h ^= data[blocks]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit. */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java client picks for a key: `toPositive(murmur2(key)) % numPartitions`. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}

/** What a custom partitioner is given. */
export interface PartitionerArgs {
  topic: string;
  /** The serialized key, or null. */
  key: Buffer | null;
  value: Buffer | null;
  /** Number of partitions of the topic. */
  numPartitions: number;
  /** Partitions that currently have a leader. */
  availablePartitions: readonly number[];
}

/**
 * A custom partitioner: returns the partition for a record, or undefined to
 * fall back to the default (murmur2 for keys, sticky for keyless records).
 */
export type Partitioner = (args: PartitionerArgs) => number | undefined;
