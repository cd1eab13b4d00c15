/**
 * What the replica manager needs from the cluster it belongs to: where other
 * brokers listen (followers fetch from leaders) and a way to change a
 * partition's ISR (AlterPartition to the controller). A single node has no
 * link: it is every partition's only replica and its ISR never changes.
 */
import type { PartitionState } from '../controller/types.js';
import type { Uuid } from '../protocol/primitives.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface AlterPartitionProposal {
  topic: string;
  topicId: Uuid;
  partition: number;
  /** The leader's current epoch and partition epoch (the state the change is based on). */
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}

export interface ClusterLink {
  /** The inter-broker listener of a live broker, from the metadata cache; undefined when unknown. */
  brokerAddress(brokerId: number): BrokerAddress | undefined;
  /**
   * Asks the controller to commit an ISR change. Resolves with the state the
   * controller committed (its partitionEpoch is new); rejects with a
   * KafkaError (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, NOT_CONTROLLER,
   * ...) when the change was refused: the leader keeps its current ISR and
   * waits for the controller's next LeaderAndIsr.
   */
  alterPartition(proposal: AlterPartitionProposal): Promise<PartitionState>;
}
