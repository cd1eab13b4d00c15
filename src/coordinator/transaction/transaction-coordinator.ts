/**
 * The transaction coordinator: Kafka's state machine for transactional ids,
 * kept in __transaction_state (Kafka's key/value schemas, rebuilt by replay).
 *
 * A transactional id lives in partition abs(javaHashCode(id)) % partitions of
 * __transaction_state; the leader of that partition coordinates it. Every
 * state change is written to the log before it takes effect; while a write
 * is in flight the id has a pending state and other requests for it get
 * CONCURRENT_TRANSACTIONS (clients retry).
 *
 *   InitProducerId  Empty/Complete* -> Empty with the epoch bumped (a new
 *                   producer id when the epoch is exhausted); Ongoing -> the
 *                   open transaction is aborted with a fenced epoch and the
 *                   client told to retry (CONCURRENT_TRANSACTIONS); a
 *                   producer id/epoch in the request (KIP-360) must match the
 *                   current or the last one, else PRODUCER_FENCED
 *   AddPartitions   -> Ongoing with the partitions added (start time set
 *   (and Offsets)   when the transaction begins)
 *   EndTxn          Ongoing -> PrepareCommit/PrepareAbort (written, answered),
 *                   then a marker to every partition (retried until
 *                   written: the host finds each partition's leader anew),
 *                   then Complete*
 *   timeout         an Ongoing transaction older than its timeout is aborted
 *                   with the producer epoch bumped (the zombie is fenced)
 *   expiration      an idle Empty/Complete* id is removed (tombstone) after
 *                   transactional.id.expiration.ms
 *
 * After a restart (replay), transactions found in PrepareCommit/PrepareAbort
 * get their markers (again: markers are idempotent for readers) and complete.
 *
 * Not done: KIP-890 part 2 (epoch bump on every commit, EndTxn v5), the
 * TRANSACTION_ABORTABLE error, verifying a partition with a coordinator on
 * another broker (AddPartitionsToTxn verify_only, Kafka 3.6+).
 */
import { type Logger, silentLogger } from '../../logging.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { buildBatch, scanBatches } from '../../protocol/records/index.js';
import { partitionForGroup } from '../partition-for.js';
import { systemScheduler, type Scheduler, type TimerHandle } from '../types.js';
import {
  TxnState,
  decodeTxnLogKey,
  decodeTxnLogValue,
  encodeTxnLogKey,
  encodeTxnLogValue,
  txnStateByName,
  txnStateName,
} from './txn-log-records.js';
import type { TransactionCoordinatorConfig, TransactionHost, TxnLog } from './types.js';

/** Kafka's Short.MaxValue - 1: an epoch this high is exhausted and the producer id is rotated. */
const MAX_EPOCH = 32766;
const MARKER_RETRY_MS = 100;

export interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  lastProducerId: number;
  producerEpoch: number;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** topic -> partitions */
  partitions: Map<string, Set<number>>;
  /** When the open transaction began, -1 when none. */
  startTimestamp: number;
  lastUpdateTimestamp: number;
  /** The state being written, null when no write is in flight. */
  pending: TxnState | null;
}

interface OwnedPartition {
  partition: number;
  log: TxnLog;
  loading: boolean;
  loaded: Promise<void>;
  txns: Map<string, TxnMetadata>;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface InitProducerIdParams {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** -1 when the request names none (before v3, or a new producer). */
  producerId: number;
  producerEpoch: number;
}

export interface TransactionDescription {
  errorCode: number;
  transactionalId: string;
  state: string;
  timeoutMs: number;
  startTimestamp: number;
  producerId: number;
  producerEpoch: number;
  topics: TopicPartitions[];
}

export interface TransactionListing {
  transactionalId: string;
  producerId: number;
  state: string;
}

export interface TransactionCoordinatorOptions {
  host: TransactionHost;
  config: TransactionCoordinatorConfig;
  scheduler?: Scheduler;
  logger?: Logger;
}

function fail(code: number, message: string): never {
  throw new KafkaError(code, message);
}

function flatten(partitions: Map<string, Set<number>>): TopicPartitions[] {
  return [...partitions].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

/** Kafka's translation of a failed __transaction_state append into what transactional clients understand. */
function txnLogAppendError(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

export class TransactionCoordinator {
  private readonly host: TransactionHost;
  private readonly config: TransactionCoordinatorConfig;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly owned = new Map<number, OwnedPartition>();
  private creatingTopic: Promise<void> | null = null;
  private timers: TimerHandle[] = [];
  private closed = false;
  private started = false;

  constructor(options: TransactionCoordinatorOptions) {
    this.host = options.host;
    this.config = options.config;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.logger = options.logger ?? silentLogger;
  }

  // ---- lifecycle ---------------------------------------------------------

  /** Loads the __transaction_state partitions this broker leads and starts the timeout and expiration timers. */
  startup(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const count = this.host.txnTopicPartitionCount();
    if (count !== null) for (let p = 0; p < count; p++) this.syncPartition(p);
    this.every(this.config.abortTimedOutIntervalMs, () => this.abortTimedOutTransactions());
    this.every(this.config.removeExpiredIntervalMs, () => void this.removeExpiredTransactionalIds());
  }

  private every(intervalMs: number, fn: () => void): void {
    const tick = () => {
      if (this.closed) return;
      try {
        fn();
      } catch (err) {
        this.logger.error('transaction coordinator task failed', { err: String(err) });
      }
      this.timers.push(this.scheduler.schedule(intervalMs, tick));
    };
    this.timers.push(this.scheduler.schedule(intervalMs, tick));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.owned.clear();
  }

  partitionFor(transactionalId: string): number {
    return partitionForGroup(transactionalId, this.host.txnTopicPartitionCount() ?? this.config.txnTopicNumPartitions);
  }

  /** Creates __transaction_state if needed and waits for its partitions to load. */
  ensureTxnTopic(): Promise<void> {
    if (this.host.txnTopicPartitionCount() !== null) return Promise.resolve();
    this.creatingTopic ??= (async () => {
      try {
        await this.host.ensureTxnTopic();
        const count = this.host.txnTopicPartitionCount() ?? 0;
        const loads: Promise<void>[] = [];
        for (let p = 0; p < count; p++) {
          this.syncPartition(p);
          const owned = this.owned.get(p);
          if (owned) loads.push(owned.loaded);
        }
        await Promise.all(loads);
      } finally {
        this.creatingTopic = null;
      }
    })();
    return this.creatingTopic;
  }

  /** This broker started or stopped leading `partition` of __transaction_state: load or unload it now. */
  onLeadershipChange(partition: number): void {
    this.syncPartition(partition);
  }

  private syncPartition(partition: number): void {
    if (this.closed) return;
    const log = this.host.txnLog(partition);
    const owned = this.owned.get(partition);
    const leads = log !== null && log.isOpen;
    if (owned && (!leads || owned.log !== log)) this.owned.delete(partition);
    if (!leads || this.owned.has(partition)) return;
    const entry: OwnedPartition = { partition, log: log!, loading: true, loaded: Promise.resolve(), txns: new Map() };
    this.owned.set(partition, entry);
    entry.loaded = this.loadPartition(entry).then(
      () => {
        entry.loading = false;
      },
      (err: unknown) => {
        this.logger.error('loading a __transaction_state partition failed', { partition, err: String(err) });
        if (this.owned.get(partition) === entry) this.owned.delete(partition);
      },
    );
  }

  /** Whether the partition is owned and loaded (tests). */
  isLoaded(partition: number): boolean {
    const owned = this.owned.get(partition);
    return owned !== undefined && !owned.loading;
  }

  /**
   * The owned, loaded partition coordinating `transactionalId`; creates the
   * topic on first use. Throws COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR or
   * COORDINATOR_LOAD_IN_PROGRESS.
   */
  private async ownerOf(transactionalId: string, waitForLoad = false): Promise<OwnedPartition> {
    if (this.closed) fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The transaction coordinator is shutting down.');
    if (this.host.txnTopicPartitionCount() === null) {
      try {
        await this.ensureTxnTopic();
      } catch (err) {
        this.logger.warn('could not create __transaction_state', { err: String(err) });
        fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The __transaction_state topic could not be created.');
      }
    }
    const partition = this.partitionFor(transactionalId);
    this.syncPartition(partition);
    const owned = this.owned.get(partition);
    if (!owned) fail(ErrorCode.NOT_COORDINATOR, `This broker does not lead __transaction_state-${partition}.`);
    if (owned.loading) {
      if (!waitForLoad) fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `__transaction_state-${partition} is loading.`);
      await owned.loaded;
      return this.ownerOf(transactionalId, false);
    }
    return owned;
  }

  /** Null when this broker coordinates the id now, else Kafka's error (FindCoordinator, DescribeTransactions). */
  async status(transactionalId: string): Promise<number | null> {
    try {
      await this.ownerOf(transactionalId);
      return null;
    } catch (err) {
      if (err instanceof KafkaError) return err.code;
      throw err;
    }
  }

  // ---- the log -------------------------------------------------------------

  private async loadPartition(owned: OwnedPartition): Promise<void> {
    const { log, partition } = owned;
    const started = this.scheduler.now();
    const values = new Map<string, TxnMetadata | null>();
    let position = log.logStartOffset;
    const end = log.highWatermark;
    let records = 0;
    while (position < end) {
      const { records: bytes } = await log.read(position, this.config.loadBufferSize);
      const { batches } = scanBatches(bytes);
      if (batches.length === 0) break;
      for (const batch of batches) {
        position = batch.nextOffset;
        if (batch.isControl) continue;
        for (const record of await batch.recordsAsync()) {
          if (record.offset >= end || record.key === null) continue;
          records++;
          try {
            const id = decodeTxnLogKey(record.key);
            if (id === null) continue;
            if (record.value === null) {
              values.set(id, null);
              continue;
            }
            const v = decodeTxnLogValue(record.value);
            values.set(id, {
              transactionalId: id,
              producerId: v.producerId,
              lastProducerId: -1,
              producerEpoch: v.producerEpoch,
              lastProducerEpoch: -1,
              timeoutMs: v.transactionTimeoutMs,
              state: v.state,
              partitions: new Map([...v.partitions].map(([t, ps]) => [t, new Set(ps)])),
              startTimestamp: v.startTimestamp,
              lastUpdateTimestamp: v.lastUpdateTimestamp,
              pending: null,
            });
          } catch (err) {
            this.logger.warn('skipping an unreadable __transaction_state record', { partition, offset: record.offset, err: String(err) });
          }
        }
      }
    }
    if (this.owned.get(partition) !== owned) return;
    for (const [id, txn] of values) if (txn !== null) owned.txns.set(id, txn);
    this.logger.info('loaded __transaction_state partition', { partition, transactionalIds: owned.txns.size, records, ms: this.scheduler.now() - started });
    // Transactions the previous run prepared but did not complete: write their markers.
    for (const txn of owned.txns.values()) {
      if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) {
        void this.writeMarkersAndComplete(owned, txn, txn.state === TxnState.PrepareCommit);
      }
    }
  }

  /** Writes `next` as the id's state, then makes it current. The id must have no write in flight. */
  private async transition(owned: OwnedPartition, txn: TxnMetadata, next: TxnMetadata | null): Promise<void> {
    txn.pending = next?.state ?? TxnState.Dead;
    const now = this.scheduler.now();
    const value =
      next === null
        ? null
        : encodeTxnLogValue({
            producerId: next.producerId,
            producerEpoch: next.producerEpoch,
            transactionTimeoutMs: next.timeoutMs,
            state: next.state,
            partitions: new Map([...next.partitions].map(([t, s]) => [t, [...s].sort((a, b) => a - b)])),
            lastUpdateTimestamp: next.lastUpdateTimestamp,
            startTimestamp: next.startTimestamp,
          });
    const batch = buildBatch([{ key: encodeTxnLogKey(txn.transactionalId), value, timestamp: now }], { now });
    try {
      await owned.log.append(batch);
    } catch (err) {
      txn.pending = null;
      const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      this.logger.warn('appending to __transaction_state failed', { transactionalId: txn.transactionalId, err: String(err) });
      fail(txnLogAppendError(code), `Could not write the transaction state: ${err instanceof KafkaError ? err.detail : String(err)}`);
    }
    txn.pending = null;
    if (this.owned.get(owned.partition) !== owned || this.closed) {
      fail(ErrorCode.NOT_COORDINATOR, 'This broker stopped coordinating the transactional id while writing its state.');
    }
    if (next === null) {
      owned.txns.delete(txn.transactionalId);
      return;
    }
    Object.assign(txn, next, { pending: null });
  }

  private copy(txn: TxnMetadata, changes: Partial<TxnMetadata>): TxnMetadata {
    return { ...txn, partitions: new Map([...txn.partitions].map(([t, s]) => [t, new Set(s)])), ...changes };
  }

  // ---- InitProducerId ------------------------------------------------------

  async initProducerId(req: InitProducerIdParams): Promise<{ producerId: number; producerEpoch: number }> {
    const { transactionalId, transactionTimeoutMs: timeoutMs } = req;
    if (timeoutMs <= 0 || timeoutMs > this.config.maxTimeoutMs) {
      fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT, `The transaction timeout ${timeoutMs} ms must be positive and at most transaction.max.timeout.ms (${this.config.maxTimeoutMs}).`);
    }
    const owned = await this.ownerOf(transactionalId);
    let txn = owned.txns.get(transactionalId);
    if (txn === undefined) {
      const producerId = await this.host.generateProducerId();
      txn = owned.txns.get(transactionalId);
      if (txn === undefined) {
        txn = {
          transactionalId,
          producerId,
          lastProducerId: -1,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          timeoutMs,
          state: TxnState.Empty,
          partitions: new Map(),
          startTimestamp: -1,
          lastUpdateTimestamp: this.scheduler.now(),
          pending: null,
        };
        owned.txns.set(transactionalId, txn);
      }
    }
    if (txn.pending !== null) fail(ErrorCode.CONCURRENT_TRANSACTIONS, `Transactional id ${transactionalId} has a state change in progress.`);
    const expected = req.producerId >= 0 ? { producerId: req.producerId, epoch: req.producerEpoch } : null;
    if (expected !== null) {
      const valid =
        txn.producerEpoch === -1 ||
        expected.producerId === txn.producerId ||
        (expected.producerId === txn.lastProducerId && expected.epoch >= MAX_EPOCH);
      if (!valid) {
        fail(ErrorCode.PRODUCER_FENCED, `Producer ${expected.producerId} epoch ${expected.epoch} is not the current producer of ${transactionalId}.`);
      }
    }
    const now = this.scheduler.now();
    switch (txn.state) {
      case TxnState.PrepareAbort:
      case TxnState.PrepareCommit:
        fail(ErrorCode.CONCURRENT_TRANSACTIONS, `Transactional id ${transactionalId} is completing a transaction.`);
      case TxnState.Empty:
      case TxnState.CompleteAbort:
      case TxnState.CompleteCommit: {
        let next: TxnMetadata;
        if (txn.producerEpoch >= MAX_EPOCH && (expected === null || expected.epoch === txn.producerEpoch)) {
          // The epoch is exhausted: a new producer id, epoch 0.
          const producerId = await this.host.generateProducerId();
          next = this.copy(txn, {
            producerId,
            producerEpoch: 0,
            lastProducerId: expected !== null ? txn.producerId : -1,
            lastProducerEpoch: expected !== null ? txn.producerEpoch : -1,
          });
        } else {
          const bumped = txn.producerEpoch + 1;
          let epoch: number;
          let last: number;
          if (expected === null) {
            epoch = bumped;
            last = -1;
          } else if (txn.producerEpoch === -1 || expected.epoch === txn.producerEpoch) {
            epoch = bumped;
            last = txn.producerEpoch;
          } else if (expected.epoch === txn.lastProducerEpoch) {
            // A retry of a bump whose answer was lost.
            epoch = txn.producerEpoch;
            last = txn.lastProducerEpoch;
          } else {
            fail(ErrorCode.PRODUCER_FENCED, `Epoch ${expected.epoch} of producer ${expected.producerId} is stale for ${transactionalId}.`);
          }
          next = this.copy(txn, { producerEpoch: epoch, lastProducerEpoch: last });
        }
        Object.assign(next, { state: TxnState.Empty, partitions: new Map(), timeoutMs, startTimestamp: -1, lastUpdateTimestamp: now });
        if (txn.pending !== null) fail(ErrorCode.CONCURRENT_TRANSACTIONS, `Transactional id ${transactionalId} has a state change in progress.`);
        await this.transition(owned, txn, next);
        return { producerId: txn.producerId, producerEpoch: txn.producerEpoch };
      }
      case TxnState.Ongoing:
        // Abort the open transaction with a fenced epoch; the client retries and gets the epoch after it.
        await this.awaitCompletion((await this.fenceAndAbort(owned, txn)).completion);
        fail(ErrorCode.CONCURRENT_TRANSACTIONS, `The open transaction of ${transactionalId} is being aborted; retry.`);
      default:
        fail(ErrorCode.UNKNOWN_SERVER_ERROR, `Transactional id ${transactionalId} is in state ${txnStateName(txn.state)}.`);
    }
  }

  /**
   * Bumps the epoch (fencing the current producer) and aborts the open
   * transaction; resolves once the abort is prepared, with its completion.
   */
  private async fenceAndAbort(owned: OwnedPartition, txn: TxnMetadata): Promise<{ completion: Promise<void> }> {
    const epoch = txn.producerEpoch < 0x7fff ? txn.producerEpoch + 1 : txn.producerEpoch;
    const next = this.copy(txn, { producerEpoch: epoch, lastProducerEpoch: -1, state: TxnState.PrepareAbort, lastUpdateTimestamp: this.scheduler.now() });
    await this.transition(owned, txn, next);
    this.logger.info('aborting a transaction with a fenced epoch', { transactionalId: txn.transactionalId, producerId: txn.producerId, epoch });
    return { completion: this.writeMarkersAndComplete(owned, txn, false) };
  }

  /** Waits (at most completionWaitMs) for a transaction's markers and completed state. */
  private async awaitCompletion(completion: Promise<void>): Promise<void> {
    const waitMs = this.config.completionWaitMs ?? 0;
    completion.catch((err: unknown) => this.logger.error('completing a transaction failed', { err: String(err) }));
    if (waitMs <= 0) return;
    let timer: TimerHandle | null = null;
    await Promise.race([
      completion.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = this.scheduler.schedule(waitMs, resolve);
      }),
    ]);
    (timer as TimerHandle | null)?.cancel();
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn -----------------------------------

  private checkProducer(txn: TxnMetadata | undefined, transactionalId: string, producerId: number, producerEpoch: number): TxnMetadata {
    if (txn === undefined) fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer id is registered for transactional id ${transactionalId}.`);
    if (txn.producerId !== producerId) {
      fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `Producer id ${producerId} does not belong to transactional id ${transactionalId}.`);
    }
    if (txn.producerEpoch !== producerEpoch) {
      fail(ErrorCode.PRODUCER_FENCED, `Epoch ${producerEpoch} of producer ${producerId} is not the current epoch ${txn.producerEpoch}.`);
    }
    return txn;
  }

  /**
   * Adds partitions to the producer's transaction (starting it). With
   * verifyOnly nothing is added: resolves with the partitions not in the
   * open transaction (Kafka's AddPartitionsToTxn v4 verification).
   */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: TopicPartitions[],
    verifyOnly = false,
  ): Promise<TopicPartitions[]> {
    const owned = await this.ownerOf(transactionalId);
    const txn = this.checkProducer(owned.txns.get(transactionalId), transactionalId, producerId, producerEpoch);
    if (txn.pending !== null) fail(ErrorCode.CONCURRENT_TRANSACTIONS, `Transactional id ${transactionalId} has a state change in progress.`);
    if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) {
      fail(ErrorCode.CONCURRENT_TRANSACTIONS, `Transactional id ${transactionalId} is completing its previous transaction.`);
    }
    const missing: TopicPartitions[] = [];
    for (const { topic, partitions: ps } of partitions) {
      const have = txn.state === TxnState.Ongoing ? txn.partitions.get(topic) : undefined;
      const absent = ps.filter((p) => !have?.has(p));
      if (absent.length > 0) missing.push({ topic, partitions: absent });
    }
    if (verifyOnly || missing.length === 0) return missing;
    const now = this.scheduler.now();
    const begins = txn.state !== TxnState.Ongoing;
    const next = this.copy(txn, {
      state: TxnState.Ongoing,
      startTimestamp: begins ? now : txn.startTimestamp,
      lastUpdateTimestamp: now,
    });
    if (begins) next.partitions = new Map();
    for (const { topic, partitions: ps } of missing) {
      let set = next.partitions.get(topic);
      if (!set) next.partitions.set(topic, (set = new Set()));
      for (const p of ps) set.add(p);
    }
    await this.transition(owned, txn, next);
    return [];
  }

  /**
   * Whether a transactional write to topic-partition by this producer belongs
   * to its open transaction (produce and TxnOffsetCommit verification).
   * Throws INVALID_PRODUCER_ID_MAPPING, INVALID_PRODUCER_EPOCH or
   * INVALID_TXN_STATE.
   */
  async verifyPartition(transactionalId: string | null, producerId: number, producerEpoch: number, topic: string, partition: number): Promise<void> {
    if (transactionalId === null || transactionalId === '') {
      fail(ErrorCode.INVALID_TXN_STATE, `Producer ${producerId} sent a transactional batch without a transactional id.`);
    }
    const owned = await this.ownerOf(transactionalId, true);
    const txn = owned.txns.get(transactionalId);
    if (txn === undefined || txn.producerId !== producerId) {
      fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `Producer id ${producerId} does not belong to transactional id ${transactionalId}.`);
    }
    if (txn.producerEpoch !== producerEpoch) {
      fail(ErrorCode.INVALID_PRODUCER_EPOCH, `Epoch ${producerEpoch} of producer ${producerId} is not the current epoch ${txn.producerEpoch}.`);
    }
    if (txn.state !== TxnState.Ongoing || !txn.partitions.get(topic)?.has(partition)) {
      fail(ErrorCode.INVALID_TXN_STATE, `${topic}-${partition} is not part of an open transaction of ${transactionalId}.`);
    }
  }

  // ---- EndTxn ----------------------------------------------------------------

  async endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<void> {
    const owned = await this.ownerOf(transactionalId);
    const txn = this.checkProducer(owned.txns.get(transactionalId), transactionalId, producerId, producerEpoch);
    if (txn.pending !== null) fail(ErrorCode.CONCURRENT_TRANSACTIONS, `Transactional id ${transactionalId} has a state change in progress.`);
    const wrong = () => fail(ErrorCode.INVALID_TXN_STATE, `Cannot ${commit ? 'commit' : 'abort'}: transactional id ${transactionalId} is in state ${txnStateName(txn.state)}.`);
    switch (txn.state) {
      case TxnState.Ongoing: {
        const next = this.copy(txn, { state: commit ? TxnState.PrepareCommit : TxnState.PrepareAbort, lastUpdateTimestamp: this.scheduler.now() });
        await this.transition(owned, txn, next);
        await this.awaitCompletion(this.writeMarkersAndComplete(owned, txn, commit));
        return;
      }
      case TxnState.CompleteCommit:
        if (commit) return;
        return wrong();
      case TxnState.CompleteAbort:
        if (!commit) return;
        return wrong();
      case TxnState.PrepareCommit:
        if (commit) fail(ErrorCode.CONCURRENT_TRANSACTIONS, `The commit of ${transactionalId} is in progress.`);
        return wrong();
      case TxnState.PrepareAbort:
        if (!commit) fail(ErrorCode.CONCURRENT_TRANSACTIONS, `The abort of ${transactionalId} is in progress.`);
        return wrong();
      default:
        return wrong();
    }
  }

  /** Writes the markers of a prepared transaction to every partition in it, then completes it. */
  private async writeMarkersAndComplete(owned: OwnedPartition, txn: TxnMetadata, commit: boolean): Promise<void> {
    const { producerId, producerEpoch } = txn;
    const coordinatorEpoch = owned.log.coordinatorEpoch;
    const targets = flatten(txn.partitions).flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
    const alive = () => !this.closed && this.owned.get(owned.partition) === owned && owned.txns.get(txn.transactionalId) === txn;
    await Promise.all(
      targets.map(async ({ topic, partition }) => {
        for (;;) {
          if (!alive()) return;
          let code: number;
          try {
            code = await this.host.writeMarker({ topic, partition, producerId, producerEpoch, commit, coordinatorEpoch });
          } catch (err) {
            this.logger.warn('writing a transaction marker failed', { topic, partition, err: String(err) });
            code = ErrorCode.UNKNOWN_SERVER_ERROR;
          }
          switch (code) {
            case ErrorCode.NONE:
              return;
            case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            case ErrorCode.UNKNOWN_TOPIC_ID:
              // The topic was deleted: nothing left to mark.
              return;
            case ErrorCode.INVALID_PRODUCER_EPOCH:
            case ErrorCode.TRANSACTION_COORDINATOR_FENCED:
              // A newer epoch or coordinator already wrote past this transaction there.
              this.logger.warn('a transaction marker was refused as stale', { topic, partition, producerId, producerEpoch, code });
              return;
            default:
              await new Promise<void>((resolve) => this.scheduler.schedule(MARKER_RETRY_MS, resolve));
          }
        }
      }),
    );
    for (;;) {
      if (!alive()) return;
      if (txn.state !== (commit ? TxnState.PrepareCommit : TxnState.PrepareAbort)) return;
      if (txn.pending !== null) {
        await new Promise<void>((resolve) => this.scheduler.schedule(MARKER_RETRY_MS, resolve));
        continue;
      }
      const next = this.copy(txn, {
        state: commit ? TxnState.CompleteCommit : TxnState.CompleteAbort,
        partitions: new Map(),
        lastUpdateTimestamp: this.scheduler.now(),
      });
      try {
        await this.transition(owned, txn, next);
        this.logger.debug('transaction completed', { transactionalId: txn.transactionalId, producerId, commit, partitions: targets.length });
        return;
      } catch (err) {
        this.logger.warn('could not write a completed transaction state; retrying', { transactionalId: txn.transactionalId, err: String(err) });
        await new Promise<void>((resolve) => this.scheduler.schedule(MARKER_RETRY_MS * 10, resolve));
      }
    }
  }

  // ---- timeouts and expiration -----------------------------------------------

  /** Aborts (fencing the producer) every open transaction older than its timeout. Returns how many. */
  abortTimedOutTransactions(now = this.scheduler.now()): number {
    let aborted = 0;
    for (const owned of this.owned.values()) {
      if (owned.loading) continue;
      for (const txn of owned.txns.values()) {
        if (txn.state !== TxnState.Ongoing || txn.pending !== null) continue;
        if (txn.startTimestamp < 0 || now - txn.startTimestamp <= txn.timeoutMs) continue;
        aborted++;
        this.logger.info('aborting a timed-out transaction', { transactionalId: txn.transactionalId, producerId: txn.producerId, timeoutMs: txn.timeoutMs });
        this.fenceAndAbort(owned, txn).then(({ completion }) => this.awaitCompletion(completion)).catch((err: unknown) =>
          this.logger.warn('could not abort a timed-out transaction', { transactionalId: txn.transactionalId, err: String(err) }),
        );
      }
    }
    return aborted;
  }

  /** Removes transactional ids idle for transactional.id.expiration.ms. Resolves with how many went. */
  async removeExpiredTransactionalIds(now = this.scheduler.now()): Promise<number> {
    const doomed: Array<[OwnedPartition, TxnMetadata]> = [];
    for (const owned of this.owned.values()) {
      if (owned.loading) continue;
      for (const txn of owned.txns.values()) {
        const idle = txn.state === TxnState.Empty || txn.state === TxnState.CompleteCommit || txn.state === TxnState.CompleteAbort;
        if (idle && txn.pending === null && now - txn.lastUpdateTimestamp >= this.config.transactionalIdExpirationMs) doomed.push([owned, txn]);
      }
    }
    let removed = 0;
    for (const [owned, txn] of doomed) {
      if (txn.pending !== null) continue;
      try {
        await this.transition(owned, txn, null);
        removed++;
      } catch (err) {
        this.logger.warn('could not remove an expired transactional id', { transactionalId: txn.transactionalId, err: String(err) });
      }
    }
    if (removed > 0) this.logger.info('removed expired transactional ids', { removed });
    return removed;
  }

  // ---- DescribeTransactions / ListTransactions ---------------------------------

  async describe(transactionalId: string): Promise<TransactionDescription> {
    const empty: TransactionDescription = {
      errorCode: ErrorCode.NONE,
      transactionalId,
      state: '',
      timeoutMs: 0,
      startTimestamp: -1,
      producerId: -1,
      producerEpoch: -1,
      topics: [],
    };
    let owned: OwnedPartition;
    try {
      owned = await this.ownerOf(transactionalId);
    } catch (err) {
      if (err instanceof KafkaError) return { ...empty, errorCode: err.code };
      throw err;
    }
    const txn = owned.txns.get(transactionalId);
    if (txn === undefined) return { ...empty, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      state: txnStateName(txn.state),
      timeoutMs: txn.timeoutMs,
      startTimestamp: txn.state === TxnState.Empty ? -1 : txn.startTimestamp,
      producerId: txn.producerId,
      producerEpoch: txn.producerEpoch,
      topics: flatten(txn.partitions),
    };
  }

  /** ListTransactions: every transactional id this broker coordinates, filtered. */
  list(stateFilters: string[], producerIdFilters: number[], durationMs = -1, now = this.scheduler.now()) {
    const unknownStateFilters = stateFilters.filter((s) => txnStateByName(s) === undefined);
    const states = new Set(stateFilters.map((s) => txnStateByName(s)).filter((s) => s !== undefined));
    const pids = new Set(producerIdFilters);
    let errorCode: number = ErrorCode.NONE;
    const transactions: TransactionListing[] = [];
    for (const owned of this.owned.values()) {
      if (owned.loading) {
        errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        continue;
      }
      for (const txn of owned.txns.values()) {
        if (stateFilters.length > 0 && !states.has(txn.state)) continue;
        if (pids.size > 0 && !pids.has(txn.producerId)) continue;
        if (durationMs >= 0 && (txn.state !== TxnState.Ongoing || now - txn.startTimestamp < durationMs)) continue;
        transactions.push({ transactionalId: txn.transactionalId, producerId: txn.producerId, state: txnStateName(txn.state) });
      }
    }
    return { errorCode, unknownStateFilters, transactions };
  }

  /** For tests and tools: a copy of the id's metadata, or undefined. */
  metadata(transactionalId: string): TxnMetadata | undefined {
    const txn = this.owned.get(this.partitionFor(transactionalId))?.txns.get(transactionalId);
    return txn === undefined ? undefined : this.copy(txn, {});
  }
}
