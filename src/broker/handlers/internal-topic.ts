/**
 * The broker's side of the coordinators' internal topics (__consumer_offsets,
 * __transaction_state): creating one on first use, and the log of a
 * partition this broker leads as the coordinators read and write it.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { Partition } from '../partition.js';
import type { BrokerServices } from '../services.js';

/** A coordinator's view of one internal-topic partition this broker leads (OffsetsLog and TxnLog both). */
export interface InternalTopicLog {
  readonly partition: number;
  /** The partition's leader epoch (stamped into transaction markers). */
  readonly coordinatorEpoch: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly isOpen: boolean;
  append(batch: Buffer): Promise<void>;
  read(offset: number, maxBytes: number): Promise<{ records: Buffer; highWatermark: number }>;
}

/**
 * The log of `topic`'s partition `index` when this broker leads it, else
 * null; the same object for as long as the same Partition leads.
 * `commitTimeoutMs`: how long an append may wait for the ISR.
 */
export function internalTopicLogs(services: BrokerServices, topic: string, commitTimeoutMs: number): (index: number) => InternalTopicLog | null {
  const { replicaManager } = services;
  const logs = new WeakMap<Partition, InternalTopicLog>();

  function adapt(partition: Partition): InternalTopicLog {
    return {
      partition: partition.index,
      get coordinatorEpoch() {
        return partition.leaderEpoch;
      },
      get logStartOffset() {
        return partition.log.logStartOffset;
      },
      // A new leader loads its whole log, as Kafka does: its high watermark may still lag the old
      // leader's, and what it has is what its followers will have.
      get highWatermark() {
        return partition.log.logEndOffset;
      },
      get isOpen() {
        return partition.log.isOpen && replicaManager.getPartition(topic, partition.index) === partition && partition.isLeader;
      },
      async append(batch) {
        const { lastOffset } = await partition.appendAsLeader(batch);
        const committed = () => partition.highWatermark > lastOffset;
        if (committed()) return;
        // In a cluster: acknowledged once the ISR has it.
        if (!(await replicaManager.purgatory.wait([partition.key], commitTimeoutMs, committed))) {
          throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${partition.key} did not replicate the write in time.`);
        }
      },
      async read(offset, maxBytes) {
        const { records, logEndOffset } = await partition.log.read(offset, maxBytes);
        return { records, highWatermark: logEndOffset };
      },
    };
  }

  return (index) => {
    const partition = replicaManager.getPartition(topic, index);
    if (!partition || !partition.isLeader) return null;
    let log = logs.get(partition);
    if (!log) logs.set(partition, (log = adapt(partition)));
    return log;
  };
}

export interface InternalTopicSpec {
  name: string;
  numPartitions: number;
  /** The configured replication factor; fewer live brokers lower it (with a warning). */
  replicationFactor: number;
  /** The topic's configs, given the replication factor it gets. */
  configs: (replicationFactor: number) => Record<string, string>;
}

/**
 * Creates an internal topic unless it exists. Its replication factor is
 * min(asked, live brokers): Kafka would refuse instead, which on a single
 * node with the default factor of 3 would leave the coordinator unusable.
 */
export async function ensureInternalTopic(services: BrokerServices, spec: InternalTopicSpec): Promise<void> {
  const { controller, logger } = services;
  if (controller.topic(spec.name)) return;
  const live = controller.brokers().length;
  const replicationFactor = Math.max(1, Math.min(spec.replicationFactor, live));
  if (replicationFactor < spec.replicationFactor) {
    logger.warn(`creating ${spec.name} with fewer replicas than configured`, { wanted: spec.replicationFactor, liveBrokers: live, replicationFactor });
  }
  try {
    await controller.createTopic(
      { name: spec.name, numPartitions: spec.numPartitions, replicationFactor, configs: spec.configs(replicationFactor) },
      false,
    );
    logger.info(`created ${spec.name}`, { partitions: spec.numPartitions, replicationFactor });
  } catch (err) {
    if (!controller.topic(spec.name)) throw err; // else someone else created it meanwhile
  }
}
