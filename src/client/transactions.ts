/**
 * The transactional producer's state machine (`transactional.id`):
 * InitProducerId with the transactional id at the transaction coordinator,
 * AddPartitionsToTxn before the first batch to a partition, AddOffsetsToTxn
 * and TxnOffsetCommit for `sendOffsetsToTransaction`, and EndTxn. The
 * Producer asks `partitionReady` before it sends a batch and reports
 * failed batches and fencing here.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/api-table.js';
import type { Logger } from '../logging.js';
import type { Cluster } from './cluster.js';
import type { BrokerConnection } from './connection.js';
import { ConnectionError, TimeoutError } from './errors.js';
import { findCoordinator } from './group/coordinator.js';
import type { GroupMetadata } from './group/membership.js';
import { backoff, sleep, tpKey } from './util.js';

/** A newer producer with the same transactional.id took over: this producer cannot be used any more. */
export class ProducerFencedError extends KafkaError {
  constructor(detail: string, cause?: unknown) {
    super(ErrorCode.PRODUCER_FENCED, detail, cause !== undefined ? { cause } : undefined);
    this.name = 'ProducerFencedError';
  }
}

/** An offset to commit in a transaction: the next offset to consume. */
export interface TransactionOffset {
  topic: string;
  partition: number;
  offset: number | bigint;
  metadata?: string | null;
}

/** What the transaction manager needs from the producer. */
export interface TransactionHost {
  readonly cluster: Cluster;
  readonly logger: Logger;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly maxBlockMs: number;
  setProducerIdentity(producerId: bigint, producerEpoch: number): void;
  producerIdentity(): { producerId: bigint; producerEpoch: number };
  /** Waits for every buffered and in-flight batch. */
  flush(): Promise<void>;
  /** Fails batches not yet sent. */
  dropUnsent(error: Error): void;
  wakeup(): void;
}

type State = 'uninitialized' | 'initializing' | 'ready' | 'in-transaction' | 'ending' | 'abortable' | 'fatal';

const RETRY_CODES = new Set<number>([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
]);
export const FENCED_CODES = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH]);

export class TransactionManager {
  private state: State = 'uninitialized';
  private error: Error | null = null;
  private readonly added = new Set<string>();
  private readonly adding = new Set<string>();
  private readonly toAdd = new Map<string, { topic: string; partition: number }>();
  private addScheduled = false;
  private coordinator: BrokerConnection | null = null;

  constructor(
    private readonly host: TransactionHost,
    readonly transactionalId: string,
    private readonly timeoutMs: number,
  ) {}

  get inTransaction(): boolean {
    return this.state === 'in-transaction' || this.state === 'abortable';
  }

  /** Throws unless records may be sent now (inside a transaction). */
  checkSend(): void {
    if (this.state === 'fatal') throw this.error!;
    if (this.state === 'abortable') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `the transaction must be aborted: ${this.error!.message}`);
    if (this.state !== 'in-transaction') {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'cannot send records outside a transaction: call beginTransaction() first');
    }
  }

  /** A batch failed inside the transaction: it can only be aborted now (or the producer is fenced). */
  batchFailed(error: Error): void {
    if (error instanceof KafkaError && FENCED_CODES.has(error.code)) {
      this.fatal(error);
      return;
    }
    if (this.state === 'in-transaction') {
      this.state = 'abortable';
      this.error = error;
    }
  }

  fatal(error: Error): Error {
    if (this.state !== 'fatal') {
      this.state = 'fatal';
      this.error =
        error instanceof ProducerFencedError
          ? error
          : new ProducerFencedError(
              `producer with transactional.id '${this.transactionalId}' was fenced by a newer instance: ${error.message}; close it and create a new one`,
              error,
            );
      this.host.dropUnsent(this.error);
    }
    return this.error!;
  }

  /** Whether a batch for this partition may go out; starts AddPartitionsToTxn if it was not added yet. */
  partitionReady(topic: string, partition: number): boolean {
    const key = tpKey(topic, partition);
    if (this.added.has(key)) return true;
    if (this.state !== 'in-transaction') return false;
    if (!this.adding.has(key)) {
      this.adding.add(key);
      this.toAdd.set(key, { topic, partition });
      if (!this.addScheduled) {
        this.addScheduled = true;
        setImmediate(() => {
          this.addScheduled = false;
          void this.addPartitions();
        });
      }
    }
    return false;
  }

  async initTransactions(): Promise<void> {
    if (this.state === 'fatal') throw this.error!;
    if (this.state !== 'uninitialized') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'initTransactions() was called already');
    this.state = 'initializing';
    try {
      const res = await this.coordinatorRequest('InitProducerId', (conn) =>
        conn.request(ApiKey.InitProducerId, {
          transactionalId: this.transactionalId,
          transactionTimeoutMs: this.timeoutMs,
          producerId: -1n,
          producerEpoch: -1,
        }),
      );
      this.host.setProducerIdentity(res.producerId, res.producerEpoch);
      this.state = 'ready';
      this.host.logger.debug('transactional producer initialized', { producerId: String(res.producerId), epoch: res.producerEpoch });
    } catch (error) {
      this.state = 'uninitialized';
      throw error;
    }
  }

  beginTransaction(): void {
    if (this.state === 'fatal') throw this.error!;
    if (this.state === 'uninitialized' || this.state === 'initializing') {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'call initTransactions() before beginTransaction()');
    }
    if (this.state !== 'ready') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'a transaction is already in progress');
    this.state = 'in-transaction';
  }

  async sendOffsetsToTransaction(offsets: readonly TransactionOffset[], group: string | GroupMetadata): Promise<void> {
    this.checkSend();
    const meta: GroupMetadata =
      typeof group === 'string' ? { groupId: group, memberId: '', generationId: -1, groupInstanceId: null } : group;
    const { producerId, producerEpoch } = this.host.producerIdentity();
    try {
      await this.coordinatorRequest('AddOffsetsToTxn', (conn) =>
        conn.request(ApiKey.AddOffsetsToTxn, { transactionalId: this.transactionalId, producerId, producerEpoch, groupId: meta.groupId }),
      );
      this.offsetsAdded = true;
      const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[]>();
      for (const o of offsets) {
        const list = byTopic.get(o.topic) ?? [];
        list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: o.metadata ?? '' });
        byTopic.set(o.topic, list);
      }
      const body = {
        transactionalId: this.transactionalId,
        groupId: meta.groupId,
        producerId,
        producerEpoch,
        generationId: meta.generationId,
        memberId: meta.memberId,
        groupInstanceId: meta.groupInstanceId,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      };
      const deadline = Date.now() + this.host.maxBlockMs;
      for (let attempt = 1; ; attempt++) {
        let code: number = ErrorCode.NONE;
        try {
          const info = await findCoordinator(this.host.cluster, meta.groupId, deadline);
          const conn = await this.host.cluster.connectionToNode(info.nodeId);
          const res = await conn.request(ApiKey.TxnOffsetCommit, body);
          for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) code = p.errorCode;
        } catch (error) {
          if (!(error instanceof ConnectionError)) throw error;
          code = ErrorCode.NETWORK_EXCEPTION;
        }
        if (code === ErrorCode.NONE) return;
        if (FENCED_CODES.has(code)) throw new KafkaError(code, 'TxnOffsetCommit');
        if (!(RETRY_CODES.has(code) || code === ErrorCode.NETWORK_EXCEPTION || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) || Date.now() >= deadline) {
          throw new KafkaError(code, `TxnOffsetCommit for group '${meta.groupId}'`);
        }
        await sleep(backoff(attempt, this.host.retryBackoffMs, this.host.retryBackoffMaxMs));
      }
    } catch (error) {
      throw this.failed(error as Error);
    }
  }

  async commitTransaction(): Promise<void> {
    if (this.state === 'fatal') throw this.error!;
    if (this.state === 'abortable') {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `cannot commit: a send in the transaction failed (${this.error!.message}); abort it`);
    }
    if (this.state !== 'in-transaction') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'no transaction in progress');
    this.state = 'ending';
    await this.host.flush();
    if ((this.state as State) === 'fatal') throw this.error!;
    if ((this.state as State) === 'abortable') {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `cannot commit: a send in the transaction failed (${this.error!.message}); abort it`);
    }
    await this.endTxn(true);
  }

  async abortTransaction(): Promise<void> {
    if (this.state === 'fatal') throw this.error!;
    if (this.state !== 'in-transaction' && this.state !== 'abortable' && this.state !== 'ending') {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'no transaction in progress');
    }
    this.state = 'ending';
    this.host.dropUnsent(new KafkaError(ErrorCode.INVALID_TXN_STATE, 'the transaction was aborted'));
    await this.host.flush();
    if ((this.state as State) === 'fatal') throw this.error!;
    await this.endTxn(false);
  }

  // ------------------------------------------------------------------ internals

  private async endTxn(committed: boolean): Promise<void> {
    const { producerId, producerEpoch } = this.host.producerIdentity();
    if (this.added.size === 0 && this.adding.size === 0 && !this.offsetsAdded) {
      // Nothing reached the coordinator: nothing to end (as the Java client does).
      this.reset();
      return;
    }
    try {
      await this.coordinatorRequest('EndTxn', (conn) =>
        conn.request(ApiKey.EndTxn, { transactionalId: this.transactionalId, producerId, producerEpoch, committed }),
      );
    } catch (error) {
      throw this.failed(error as Error, 'abortable');
    }
    this.reset();
  }

  private offsetsAdded = false;

  private reset(): void {
    this.added.clear();
    this.adding.clear();
    this.toAdd.clear();
    this.offsetsAdded = false;
    this.error = null;
    this.state = 'ready';
  }

  /** Maps an error: fencing makes the producer unusable, anything else makes the transaction abortable. */
  private failed(error: Error, next: 'abortable' = 'abortable'): Error {
    if (error instanceof KafkaError && FENCED_CODES.has(error.code)) return this.fatal(error);
    if (this.state === 'in-transaction' || this.state === 'ending') {
      this.state = next;
      this.error = error;
    }
    return error;
  }

  private async addPartitions(): Promise<void> {
    if (this.toAdd.size === 0) return;
    const batch = [...this.toAdd.values()];
    this.toAdd.clear();
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of batch) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    const { producerId, producerEpoch } = this.host.producerIdentity();
    try {
      await this.coordinatorRequest('AddPartitionsToTxn', async (conn) => {
        const res = await conn.request(ApiKey.AddPartitionsToTxn, (v: number) =>
          v >= 4
            ? { transactions: [{ transactionalId: this.transactionalId, producerId, producerEpoch, verifyOnly: false, topics }] }
            : { v3AndBelowTransactionalId: this.transactionalId, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: topics },
        );
        let errorCode = res.errorCode ?? ErrorCode.NONE;
        const results = res.resultsByTransaction?.[0]?.topicResults ?? res.resultsByTopicV3AndBelow ?? [];
        for (const t of results) {
          for (const p of t.resultsByPartition) {
            if (p.partitionErrorCode !== ErrorCode.NONE && p.partitionErrorCode !== ErrorCode.OPERATION_NOT_ATTEMPTED) errorCode = p.partitionErrorCode;
          }
        }
        if (errorCode === ErrorCode.NONE) {
          for (const t of results) for (const p of t.resultsByPartition) if (p.partitionErrorCode === ErrorCode.OPERATION_NOT_ATTEMPTED) errorCode = p.partitionErrorCode;
        }
        return { errorCode };
      });
      for (const { topic, partition } of batch) {
        const key = tpKey(topic, partition);
        this.adding.delete(key);
        this.added.add(key);
      }
    } catch (error) {
      for (const { topic, partition } of batch) this.adding.delete(tpKey(topic, partition));
      const e = this.failed(error as Error);
      this.host.logger.warn('AddPartitionsToTxn failed', { error: (error as Error).message });
      this.host.dropUnsent(e);
    }
    this.host.wakeup();
  }

  /**
   * Sends a request to the transaction coordinator, finding it first
   * (FindCoordinator key type 1), retrying coordinator moves and
   * CONCURRENT_TRANSACTIONS / COORDINATOR_LOAD_IN_PROGRESS with backoff
   * within `max.block.ms`.
   */
  private async coordinatorRequest<R extends { errorCode?: number }>(what: string, send: (conn: BrokerConnection) => Promise<R>): Promise<R> {
    const deadline = Date.now() + this.host.maxBlockMs;
    let last: Error | null = null;
    for (let attempt = 1; ; attempt++) {
      if (Date.now() >= deadline) {
        throw new TimeoutError(`${what} timed out after ${this.host.maxBlockMs} ms${last ? ` (last error: ${last.message})` : ''}`);
      }
      try {
        if (this.coordinator === null || this.coordinator.closed) this.coordinator = await this.findTxnCoordinator();
        const res = await send(this.coordinator);
        const code = res.errorCode ?? ErrorCode.NONE;
        if (code === ErrorCode.NONE) return res;
        const error = new KafkaError(code, `${what} (transactional.id '${this.transactionalId}')`);
        if (!RETRY_CODES.has(code)) throw error;
        if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) this.coordinator = null;
        last = error;
      } catch (error) {
        if (!(error instanceof ConnectionError) && !(error instanceof KafkaError && error.retriable)) throw error;
        this.coordinator = null;
        last = error as Error;
      }
      await sleep(backoff(attempt, this.host.retryBackoffMs, this.host.retryBackoffMaxMs));
    }
  }

  private async findTxnCoordinator(): Promise<BrokerConnection> {
    const conn = await this.host.cluster.anyConnection();
    const res = await conn.request(ApiKey.FindCoordinator, (v: number) =>
      v >= 4 ? { keyType: 1, coordinatorKeys: [this.transactionalId] } : { key: this.transactionalId, keyType: 1 },
    );
    const c = res.coordinators?.[0];
    const code = c !== undefined ? c.errorCode : (res.errorCode ?? 0);
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `FindCoordinator for transactional.id '${this.transactionalId}'`);
    const nodeId = c !== undefined ? c.nodeId : res.nodeId!;
    return this.host.cluster.connectionToNode(nodeId);
  }
}
