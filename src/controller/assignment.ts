/**
 * Replica placement for new partitions, following Kafka's rack-unaware
 * scheme: leaders go round-robin from a random broker, and followers are
 * shifted so that replicas of consecutive partitions spread over different
 * brokers. With one broker every partition's only replica is that broker.
 */
export interface AssignmentOptions {
  /** First partition id to assign (non-zero when adding partitions). */
  startPartition?: number;
  /** Fixed choices instead of random ones (for tests and reproducibility). */
  startIndex?: number;
  replicaShift?: number;
}

export function assignReplicas(
  brokerIds: number[],
  numPartitions: number,
  replicationFactor: number,
  options: AssignmentOptions = {},
): number[][] {
  const brokers = [...brokerIds].sort((a, b) => a - b);
  const n = brokers.length;
  if (replicationFactor < 1) throw new RangeError('replication factor must be at least 1');
  if (replicationFactor > n) throw new RangeError(`replication factor ${replicationFactor} is larger than the ${n} available brokers`);
  const startIndex = options.startIndex ?? Math.floor(Math.random() * n);
  let shift = options.replicaShift ?? Math.floor(Math.random() * n);
  let partition = Math.max(0, options.startPartition ?? 0);
  const result: number[][] = [];
  for (let i = 0; i < numPartitions; i++, partition++) {
    if (partition > 0 && partition % n === 0) shift += 1;
    const first = (partition + startIndex) % n;
    const replicas = [brokers[first]!];
    for (let j = 0; j < replicationFactor - 1; j++) {
      const offset = 1 + ((shift + j) % (n - 1));
      replicas.push(brokers[(first + offset) % n]!);
    }
    result.push(replicas);
  }
  return result;
}
