/**
 * What the transaction coordinator needs from the broker around it, as
 * narrow interfaces (fakes in tests): the __transaction_state partitions this
 * broker leads, topic lookups, the marker writer (in process or to the
 * partition's leader) and producer ids. The broker adapts its replica manager, controller
 * and producer-id manager to these (src/broker/handlers/transactions.ts).
 */
export type { Scheduler, TimerHandle } from '../types.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/** One __transaction_state partition this broker leads. */
export interface TxnLog {
  readonly partition: number;
  /** The partition's leader epoch: stamped into the markers this coordinator writes. */
  readonly coordinatorEpoch: number;
  readonly logStartOffset: number;
  /** Offsets below this are committed and may be replayed. */
  readonly highWatermark: number;
  /** False once the log was closed or the partition moved away. */
  readonly isOpen: boolean;
  /** Appends one batch; resolves once committed. Rejects with a KafkaError. */
  append(batch: Buffer): Promise<void>;
  /** Committed batches from `offset` (at least one whole batch when there is one). */
  read(offset: number, maxBytes: number): Promise<{ records: Buffer; highWatermark: number }>;
}

export interface MarkerTarget {
  topic: string;
  partition: number;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

export interface TransactionHost {
  /** Partitions __transaction_state has, or null when it does not exist yet. */
  txnTopicPartitionCount(): number | null;
  /** Creates __transaction_state when missing. */
  ensureTxnTopic(): Promise<void>;
  /** The partition's log when this broker leads it, else null. */
  txnLog(partition: number): TxnLog | null;
  /** Partition count of a topic, or null when it does not exist. */
  topicPartitionCount(topic: string): number | null;
  /**
   * Writes one COMMIT/ABORT marker, here or at the partition's leader;
   * resolves with Kafka's error code for that partition (0 = written and
   * replicated). Never rejects for a remote failure: it answers a retriable code.
   */
  writeMarker(target: MarkerTarget): Promise<number>;
  /** A producer id never handed out before. */
  generateProducerId(): Promise<number>;
}

/** The settings, read once from the broker config (Kafka names in comments). */
export interface TransactionCoordinatorConfig {
  /** transaction.state.log.num.partitions (used to create the topic; then its real count) */
  txnTopicNumPartitions: number;
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms */
  abortTimedOutIntervalMs: number;
  /** transactional.id.expiration.ms */
  transactionalIdExpirationMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms */
  removeExpiredIntervalMs: number;
  /** transaction.state.log.load.buffer.size */
  loadBufferSize: number;
  /**
   * How long EndTxn (and an InitProducerId that aborts an open transaction)
   * waits for the markers and the completed state before answering. Kafka
   * answers once the Prepare state is written, and the producer's next
   * AddPartitionsToTxn meets CONCURRENT_TRANSACTIONS until the markers are
   * done (clients back off and retry); markers are local and quick here, so
   * waiting for them spares that round of retries. 0 = Kafka's behaviour.
   * Past the wait the answer goes out and the markers complete in the background.
   */
  completionWaitMs?: number;
}
