/**
 * The producer: `send` appends records to per-partition batches (the
 * accumulator); a sender drains ready batches into one Produce request per
 * leader broker and settles each record's promise from the response.
 *
 * Batching: a partition's open batch takes records until it reaches
 * `batch.size` bytes (estimated, before compression); it is sent when full,
 * when `linger.ms` has passed since its first record, on `flush()`/`close()`,
 * or at once while `send` calls are waiting for buffer memory. A request
 * carries at most one batch per partition and at most `max.request.size`
 * bytes; at most `max.in.flight.requests.per.connection` requests are in
 * flight per broker.
 *
 * Memory: records count against `buffer.memory` from `send` until their
 * batch is acknowledged or fails. When it is full, `send` waits (in order,
 * behind earlier waiting sends) up to `max.block.ms`, then fails with
 * BufferExhaustedError. Waiting for metadata of a new topic is bounded by
 * `max.block.ms` too.
 *
 * Retries and ordering: a batch failing with a retriable error (dropped
 * connection, request timeout, NOT_LEADER_OR_FOLLOWER...) is resent after
 * `retry.backoff.ms` (exponential up to `retry.backoff.max.ms`), up to
 * `retries` times and within `delivery.timeout.ms` of its creation, and
 * records keep their order within a partition:
 *
 * - Idempotent (the default with acks=all, as in the Java client): the
 *   producer gets a producer id (InitProducerId) and numbers each
 *   partition's records; up to `max.in.flight.requests.per.connection`
 *   batches of a partition are in flight. The broker drops a resent batch
 *   it already has and refuses one that arrives out of sequence, and a
 *   failed batch is resent ahead of the later ones, so neither duplicates
 *   nor reordering come from retries. If sequences get out of step (a sent
 *   batch expired or was refused), the producer takes a new producer id.
 * - Not idempotent (acks 0/1, or `enable.idempotence=false`) with
 *   `retries` > 0: a partition has one batch in flight at a time, so a
 *   retried batch always goes out before the ones behind it (a retry after
 *   a lost response may duplicate a batch). Batches that pile up behind it
 *   are merged, up to `max.request.size`, so a round trip is not limited to
 *   `batch.size` bytes per partition.
 * - `retries` = 0: nothing is resent; up to
 *   `max.in.flight.requests.per.connection` batches per partition.
 *
 * A batch the broker rejects as MESSAGE_TOO_LARGE is split in two and
 * resent (unless `retries` = 0 without idempotence).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/api-table.js';
import type { ProduceResponse } from '../protocol/messages/produce.js';
import {
  CompressionType,
  buildBatch,
  buildBatchAsync,
  compressionTypeByName,
  type HeaderInput,
} from '../protocol/records/index.js';
import { silentLogger, type Logger } from '../logging.js';
import { Cluster, FATAL_TOPIC_ERRORS, clusterOptions, type TopicMetadata } from './cluster.js';
import type { BrokerConnection } from './connection.js';
import { resolveProducerConfig, type ConfigInput, type ProducerConfig, type ResolvedConfig } from './config.js';
import {
  BufferExhaustedError,
  ClientClosedError,
  ConnectionError,
  RecordTooLargeError,
  TimeoutError,
  isRetriable,
} from './errors.js';
import { partitionForKey, type Partitioner } from './partitioner.js';
import { backoff, noop, tpKey } from './util.js';
import { FENCED_CODES, TransactionManager, type TransactionOffset } from './transactions.js';
import type { GroupMetadata } from './group/membership.js';

/** Bytes a record may be given as: a Buffer, a string (UTF-8), or null. */
export type RecordBytes = Buffer | Uint8Array | string | null;

/** Record headers: an object (one value per key) or a list (keys may repeat). */
export type RecordHeaders =
  | Readonly<Record<string, RecordBytes | undefined>>
  | ReadonlyArray<{ key: string; value: RecordBytes | undefined }>;

/** A record to send. */
export interface ProducerRecord {
  topic: string;
  /** Explicit partition; otherwise the partitioner picks one. */
  partition?: number;
  key?: RecordBytes;
  value?: RecordBytes;
  headers?: RecordHeaders;
  /** Create time (epoch ms or a Date); defaults to the time of `send`. */
  timestamp?: number | Date;
}

/** Where a record was written. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1 with `acks=0` (the broker does not say). */
  offset: number;
  /** The record's timestamp: the broker's append time for LogAppendTime topics, else its create time. */
  timestamp: number;
}

/** Options besides the Kafka settings. */
export interface ProducerOptions {
  /** Replaces the default partitioner; return undefined to fall back to it. */
  partitioner?: Partitioner;
  logger?: Logger;
}

/** Counters for tests and tools. */
export interface ProducerMetrics {
  /** Produce requests sent (including retries). */
  produceRequests: number;
  /** Batches sent (including retries). */
  batchesSent: number;
  /** Records acknowledged. */
  recordsSent: number;
  /** Batches resent after a retriable error. */
  retries: number;
  /** Records that failed. */
  recordErrors: number;
  /** Bytes of `buffer.memory` in use. */
  bufferUsed: number;
  /** Whether the producer is idempotent (see `enable.idempotence`). */
  idempotent: boolean;
  /** The producer id the broker assigned (-1 before, or without idempotence). */
  producerId: bigint;
}

/** Options of `close`. */
export interface ProducerCloseOptions {
  /**
   * How long to wait for buffered records to be sent (ms); records still
   * unsent afterwards fail with ClientClosedError. Default: no limit (every
   * record completes or reaches its `delivery.timeout.ms`).
   */
  timeoutMs?: number;
}

interface Callback {
  resolve: (metadata: RecordMetadata) => void;
  reject: (error: Error) => void;
}

/** A record checked and converted to bytes; it doubles as the batch builder's RecordInput. */
interface NormalizedRecord {
  topic: string;
  partition: number | undefined;
  key: Buffer | null;
  value: Buffer | null;
  headers: HeaderInput[] | undefined;
  timestamp: number;
  size: number;
}

interface Waiting extends Callback {
  record: NormalizedRecord;
  deadline: number;
  promise: Promise<RecordMetadata>;
}

const RECORD_BATCH_OVERHEAD = 61;
/** Per-record framing upper bound: length, attributes, timestamp and offset deltas, key/value lengths, header count. */
const RECORD_OVERHEAD = 21;

class ProducerBatch {
  readonly records: NormalizedRecord[] = [];
  readonly callbacks: Callback[] = [];
  /** Estimated encoded size (uncompressed, with the batch header). */
  bytes = RECORD_BATCH_OVERHEAD;
  /** Bytes reserved in buffer.memory. */
  memory = 0;
  /** No more appends: full, or drained for sending. */
  closed = false;
  /** Times sent. */
  attempts = 0;
  retryAt = 0;
  /** False for the halves of a batch the broker found too large: never merged again. */
  mergeable = true;
  /** Idempotence: the sequence of the first record, assigned when first sent (-1 before). */
  baseSequence = -1;
  built: Buffer | null = null;
  readonly done: Promise<void>;
  private markDone!: () => void;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAt: number,
  ) {
    this.done = new Promise((resolve) => (this.markDone = resolve));
  }

  finish(): void {
    this.markDone();
  }
}

interface PartitionQueue {
  topic: string;
  partition: number;
  batches: ProducerBatch[];
  inFlight: number;
  /** Idempotence: the sequence the next new batch gets. */
  nextSequence: number;
  /** Idempotence: a batch is waiting to be resent; nothing else goes out until the partition's in-flight requests are answered. */
  retrying: boolean;
}

/** Error codes after which the partition's leader may have moved. */
const REFRESH_CODES = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NETWORK_EXCEPTION,
]);

let producerCount = 0;

function toBuffer(bytes: RecordBytes | undefined, what: string): Buffer | null {
  if (bytes === null || bytes === undefined) return null;
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError(`${what} must be a Buffer, Uint8Array, string or null`);
}

/**
 * A Kafka producer.
 *
 * ```ts
 * const producer = new Producer({ 'bootstrap.servers': 'localhost:9092', acks: 'all', 'linger.ms': 5 });
 * const { partition, offset } = await producer.send({ topic: 't', key: 'k', value: 'v' });
 * await producer.close();
 * ```
 */
export class Producer {
  /** The resolved settings. */
  readonly config: ResolvedConfig;
  readonly clientId: string;
  private readonly cluster: Cluster;
  private readonly logger: Logger;
  private readonly partitioner: Partitioner | undefined;

  private readonly acks: number;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly bufferMemory: number;
  private readonly maxBlockMs: number;
  private readonly compression: CompressionType;
  private readonly compressionLevel: number | undefined;
  private readonly maxRequestSize: number;
  private readonly retries: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly requestTimeoutMs: number;
  private readonly retryBackoffMs: number;
  private readonly retryBackoffMaxMs: number;
  private readonly ignoreKeys: boolean;
  /**
   * Idempotent: a producer id and per-partition sequence numbers let the
   * broker drop duplicates and refuse gaps, so up to
   * `max.in.flight.requests.per.connection` batches of a partition can be
   * in flight without reordering. Turned off when the broker cannot assign
   * producer ids and idempotence was not asked for explicitly.
   */
  private idempotent: boolean;
  private readonly idempotenceExplicit: boolean;
  private producerId = -1n;
  private producerEpoch = -1;
  private pidState: 'none' | 'initializing' | 'ready' | 'failed' = 'none';
  private pidError: Error | null = null;
  private pidAttempts = 0;
  private pidRetryAt = 0;
  /** Sequences got out of step (a sequenced batch failed or expired): take a new producer id once nothing is in flight. */
  private needPidReset = false;

  private readonly queues = new Map<string, PartitionQueue>();
  /** The same queues by topic, indexed by partition (the append path's lookup). */
  private readonly queuesByTopic = new Map<string, PartitionQueue[]>();
  private readonly inFlightBatches = new Set<ProducerBatch>();
  private readonly sticky = new Map<string, { partition: number; batch: ProducerBatch | null }>();
  private bufferUsed = 0;
  private readonly waiting: Waiting[] = [];
  private waitTimer: NodeJS.Timeout | null = null;

  private readonly nodeInFlight = new Map<number, number>();
  private readonly nodeGate = new Map<number, Promise<void>>();
  private readonly nodeConnecting = new Set<number>();
  private readonly nodeRetryAt = new Map<number, number>();

  private runScheduled = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = Infinity;
  private flushing = 0;
  private closing = false;
  private closePromise: Promise<void> | null = null;
  private idleWaiters: Array<() => void> = [];
  /** Set when close timed out: nothing is retried any more. */
  private forceClosed = false;

  /** Set with `transactional.id`. */
  private readonly txn: TransactionManager | null = null;

  private readonly counters = { produceRequests: 0, batchesSent: 0, recordsSent: 0, retries: 0, recordErrors: 0 };

  constructor(config: ConfigInput<ProducerConfig>, options: ProducerOptions = {}) {
    this.config = resolveProducerConfig(config);
    const c = this.config;
    this.clientId = c.string('client.id') || `producer-${++producerCount}`;
    this.logger = options.logger ?? silentLogger;
    this.partitioner = options.partitioner;
    const acks = c.string('acks');
    this.acks = acks === 'all' ? -1 : Number(acks);
    this.batchSize = c.int('batch.size');
    this.lingerMs = c.int('linger.ms');
    this.bufferMemory = c.int('buffer.memory');
    this.maxBlockMs = c.int('max.block.ms');
    this.compression = compressionTypeByName(c.string('compression.type'));
    const gzipLevel = c.int('compression.gzip.level');
    this.compressionLevel =
      this.compression === CompressionType.Gzip && gzipLevel >= 1
        ? gzipLevel
        : this.compression === CompressionType.Zstd && config['compression.zstd.level'] !== undefined
          ? c.int('compression.zstd.level')
          : undefined;
    this.maxRequestSize = c.int('max.request.size');
    this.retries = c.int('retries');
    this.deliveryTimeoutMs = c.int('delivery.timeout.ms');
    this.maxInFlight = c.int('max.in.flight.requests.per.connection');
    this.requestTimeoutMs = c.int('request.timeout.ms');
    this.retryBackoffMs = c.int('retry.backoff.ms');
    this.retryBackoffMaxMs = c.int('retry.backoff.max.ms');
    this.ignoreKeys = c.bool('partitioner.ignore.keys');
    const transactionalId = c.nullableString('transactional.id');
    this.idempotenceExplicit =
      transactionalId !== null || (config['enable.idempotence'] !== undefined && config['enable.idempotence'] !== null);
    this.idempotent = this.idempotenceExplicit
      ? c.bool('enable.idempotence')
      : this.acks === -1 && this.retries > 0 && this.maxInFlight <= 5;
    if (this.pidState === 'none' && !this.idempotent) this.pidState = 'ready';
    if (transactionalId !== null) this.idempotent = true;
    this.cluster = new Cluster(clusterOptions(c, this.clientId, this.logger));
    if (transactionalId !== null) {
      const self = this;
      this.txn = new TransactionManager(
        {
          cluster: this.cluster,
          logger: this.logger,
          retryBackoffMs: this.retryBackoffMs,
          retryBackoffMaxMs: this.retryBackoffMaxMs,
          maxBlockMs: this.maxBlockMs,
          setProducerIdentity(producerId, producerEpoch) {
            self.producerId = producerId;
            self.producerEpoch = producerEpoch;
            for (const q of self.queues.values()) q.nextSequence = 0;
            self.needPidReset = false;
            self.pidState = 'ready';
          },
          producerIdentity: () => ({ producerId: this.producerId, producerEpoch: this.producerEpoch }),
          flush: () => this.flush(),
          dropUnsent: (error) => {
            for (const w of this.waiting.splice(0)) w.reject(error);
            for (const q of this.queues.values()) for (const b of q.batches.splice(0)) this.failBatch(b, error);
          },
          wakeup: () => this.wakeup(),
        },
        transactionalId,
        c.int('transaction.timeout.ms'),
      );
    }
    this.cluster.onMetadataUpdate(() => {
      this.processWaiting();
      this.wakeup();
    });
    if (c.unknownKeys.length > 0) {
      this.logger.warn('ignoring unknown producer settings', { keys: c.unknownKeys });
    }
  }

  /** One batch in flight per partition: what keeps order across retries without idempotence. */
  private get strictOrder(): boolean {
    return !this.idempotent && this.retries > 0;
  }

  // ------------------------------------------------------------------ public API

  /**
   * Sends one record; resolves when the broker acknowledged it (per `acks`)
   * with its partition and offset, or rejects: KafkaError with the broker's
   * code, TimeoutError (metadata wait or `delivery.timeout.ms`),
   * BufferExhaustedError, RecordTooLargeError, ClientClosedError.
   */
  send(record: ProducerRecord): Promise<RecordMetadata>;
  /**
   * Sends records in order (each gets its own batch slot as with single
   * sends); resolves with their metadata in the same order once all are
   * acknowledged, or rejects with the first failure.
   */
  send(records: readonly ProducerRecord[]): Promise<RecordMetadata[]>;
  send(input: ProducerRecord | readonly ProducerRecord[]): Promise<RecordMetadata | RecordMetadata[]> {
    if (Array.isArray(input)) return Promise.all((input as readonly ProducerRecord[]).map((r) => this.sendOne(r)));
    return this.sendOne(input as ProducerRecord);
  }

  /** Sends every buffered record now and resolves once all records sent before this call have completed. */
  async flush(): Promise<void> {
    const targets: Promise<unknown>[] = [];
    for (const q of this.queues.values()) for (const b of q.batches) targets.push(b.done);
    for (const b of this.inFlightBatches) targets.push(b.done);
    for (const w of this.waiting) targets.push(w.promise.then(noop, noop));
    if (targets.length === 0) return;
    this.flushing++;
    this.wakeup();
    try {
      await Promise.all(targets);
    } finally {
      this.flushing--;
    }
  }

  /**
   * Stops accepting records, sends what is buffered (see
   * `ProducerCloseOptions.timeoutMs`) and closes the connections. Idempotent.
   */
  close(options: ProducerCloseOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closing = true;
    this.closePromise = this.doClose(options.timeoutMs);
    return this.closePromise;
  }

  // ------------------------------------------------------------------ transactions

  private requireTxn(what: string): TransactionManager {
    this.ensureOpen();
    if (this.txn === null) throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `${what}() needs transactional.id to be set`);
    return this.txn;
  }

  /**
   * Gets the producer id and epoch for `transactional.id` from the
   * transaction coordinator, fencing older producers with the same id and
   * finishing their open transaction. Call once, before the first transaction.
   */
  async initTransactions(): Promise<void> {
    return this.requireTxn('initTransactions').initTransactions();
  }

  /** Starts a transaction: records sent until commit/abort belong to it. */
  beginTransaction(): void {
    this.requireTxn('beginTransaction').beginTransaction();
  }

  /**
   * Adds consumer offsets (the next offsets to read) to the transaction:
   * they are committed for the group only if the transaction commits. Pass
   * `consumer.groupMetadata()` so the group can reject a zombie member.
   */
  async sendOffsetsToTransaction(offsets: readonly TransactionOffset[], group: GroupMetadata | string): Promise<void> {
    return this.requireTxn('sendOffsetsToTransaction').sendOffsetsToTransaction(offsets, group);
  }

  /** Sends what is buffered, then commits the transaction (EndTxn). */
  async commitTransaction(): Promise<void> {
    return this.requireTxn('commitTransaction').commitTransaction();
  }

  /** Drops unsent records (their sends reject), waits for in-flight ones, then aborts the transaction (EndTxn). */
  async abortTransaction(): Promise<void> {
    return this.requireTxn('abortTransaction').abortTransaction();
  }

  /** The partitions of a topic (waits for its metadata up to `max.block.ms`). */
  async partitionsFor(topic: string): Promise<TopicMetadata> {
    this.ensureOpen();
    return this.cluster.waitForTopic(topic, Date.now() + this.maxBlockMs);
  }

  /** Counters: produce requests, batches, records, retries, buffer use. */
  metrics(): ProducerMetrics {
    return { ...this.counters, bufferUsed: this.bufferUsed, idempotent: this.idempotent, producerId: this.producerId };
  }

  // ------------------------------------------------------------------ send path

  private ensureOpen(): void {
    if (this.closing) throw new ClientClosedError('the producer is closed');
  }

  private sendOne(record: ProducerRecord): Promise<RecordMetadata> {
    let normalized: NormalizedRecord;
    try {
      this.ensureOpen();
      this.txn?.checkSend();
      normalized = this.normalize(record);
    } catch (error) {
      return Promise.reject(error);
    }
    if (normalized.size > this.maxRequestSize) {
      return Promise.reject(
        new RecordTooLargeError(
          `The message is ${normalized.size} bytes when serialized which is larger than ${this.maxRequestSize}, which is the value of the max.request.size configuration.`,
        ),
      );
    }
    if (normalized.size > this.bufferMemory) {
      return Promise.reject(
        new RecordTooLargeError(
          `The message is ${normalized.size} bytes when serialized which is larger than the total memory buffer you have configured with the buffer.memory configuration (${this.bufferMemory}).`,
        ),
      );
    }
    let callback!: Callback;
    const promise = new Promise<RecordMetadata>((resolve, reject) => (callback = { resolve, reject }));
    try {
      if (this.waiting.length === 0 && this.tryAppend(normalized, callback)) return promise;
    } catch (error) {
      return Promise.reject(error);
    }
    const entry: Waiting = { ...callback, record: normalized, deadline: Date.now() + this.maxBlockMs, promise };
    this.waiting.push(entry);
    this.processWaiting();
    return promise;
  }

  private normalize(record: ProducerRecord): NormalizedRecord {
    if (record === null || typeof record !== 'object') throw new TypeError('a record must be an object');
    const { topic } = record;
    if (typeof topic !== 'string' || topic === '') throw new TypeError('record.topic must be a non-empty string');
    const partition = record.partition;
    if (partition !== undefined && partition !== null && (!Number.isInteger(partition) || partition < 0)) {
      throw new TypeError(`Invalid partition given with record: ${partition}`);
    }
    const key = toBuffer(record.key, 'record.key');
    const value = toBuffer(record.value, 'record.value');
    let headers: HeaderInput[] | undefined;
    let headerBytes = 0;
    if (record.headers !== undefined && record.headers !== null) {
      const list = Array.isArray(record.headers)
        ? (record.headers as ReadonlyArray<{ key: string; value: RecordBytes | undefined }>)
        : Object.entries(record.headers as Record<string, RecordBytes | undefined>).map(([k, v]) => ({ key: k, value: v }));
      headers = list.map((h) => {
        if (typeof h.key !== 'string') throw new TypeError('header keys must be strings');
        const v = toBuffer(h.value, `header '${h.key}'`);
        headerBytes += 10 + Buffer.byteLength(h.key) + (v?.length ?? 0);
        return { key: h.key, value: v };
      });
    }
    const ts = record.timestamp;
    const timestamp = ts === undefined || ts === null ? Date.now() : ts instanceof Date ? ts.getTime() : ts;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError(`Invalid timestamp: ${String(ts)}`);
    const size = RECORD_OVERHEAD + (key?.length ?? 0) + (value?.length ?? 0) + headerBytes;
    return { topic, partition: partition ?? undefined, key, value, headers, timestamp, size };
  }

  /**
   * Appends the record when its topic's metadata and buffer memory allow;
   * false when it has to wait. Throws when a custom partitioner misbehaves.
   */
  private tryAppend(record: NormalizedRecord, callback: Callback): boolean {
    const meta = this.cluster.metadata.topics.get(record.topic);
    if (meta === undefined || meta.partitions.length === 0) return false;
    if (record.partition !== undefined && record.partition >= meta.partitions.length) return false;
    if (this.bufferUsed + record.size > this.bufferMemory) return false;
    const partition = this.choosePartition(record, meta);
    this.bufferUsed += record.size;
    this.append(record, partition, callback);
    return true;
  }

  private choosePartition(record: NormalizedRecord, meta: TopicMetadata): number {
    if (record.partition !== undefined) return record.partition;
    const numPartitions = meta.partitions.length;
    if (this.partitioner !== undefined) {
      const chosen = this.partitioner({
        topic: record.topic,
        key: record.key,
        value: record.value,
        numPartitions,
        availablePartitions: meta.partitions.filter((p) => p !== undefined && p.leader >= 0).map((p) => p.partition),
      });
      if (chosen !== undefined) {
        if (!Number.isInteger(chosen) || chosen < 0 || chosen >= numPartitions) {
          throw new RangeError(`the partitioner returned ${chosen} for topic ${record.topic} with ${numPartitions} partitions`);
        }
        return chosen;
      }
    }
    if (record.key !== null && !this.ignoreKeys) return partitionForKey(record.key, numPartitions);
    return this.stickyPartition(record, meta);
  }

  private stickyPartition(record: NormalizedRecord, meta: TopicMetadata): number {
    const state = this.sticky.get(record.topic);
    if (state !== undefined && state.partition < meta.partitions.length) {
      const b = state.batch;
      if (b === null) return state.partition;
      if (!b.closed && (b.records.length === 0 || b.bytes + record.size <= this.batchSize)) return state.partition;
    }
    const available: number[] = [];
    for (const p of meta.partitions) if (p !== undefined && p.leader >= 0) available.push(p.partition);
    const pool = available.length > 0 ? available : meta.partitions.map((_, i) => i);
    let next = pool[Math.floor(Math.random() * pool.length)]!;
    if (pool.length > 1 && state !== undefined && next === state.partition) {
      next = pool[(pool.indexOf(next) + 1 + Math.floor(Math.random() * (pool.length - 1))) % pool.length]!;
    }
    this.sticky.set(record.topic, { partition: next, batch: null });
    return next;
  }

  private append(record: NormalizedRecord, partition: number, callback: Callback): void {
    let byPartition = this.queuesByTopic.get(record.topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queuesByTopic.set(record.topic, byPartition);
    }
    let q = byPartition[partition];
    if (q === undefined) {
      q = { topic: record.topic, partition, batches: [], inFlight: 0, nextSequence: 0, retrying: false };
      byPartition[partition] = q;
      this.queues.set(tpKey(record.topic, partition), q);
    }
    let batch = q.batches[q.batches.length - 1];
    if (batch !== undefined && !batch.closed && batch.records.length > 0 && batch.bytes + record.size > this.batchSize) {
      batch.closed = true;
    }
    if (batch === undefined || batch.closed) {
      batch = new ProducerBatch(record.topic, partition, Date.now());
      q.batches.push(batch);
    }
    // The normalized record is a RecordInput already (key, value, headers, timestamp).
    batch.records.push(record);
    batch.callbacks.push(callback);
    batch.bytes += record.size;
    batch.memory += record.size;
    if (batch.bytes >= this.batchSize) batch.closed = true;
    const st = this.sticky.get(record.topic);
    if (st !== undefined && st.partition === partition && (record.key === null || this.ignoreKeys)) st.batch = batch;
    if (batch.closed || q.batches.length > 1 || this.lingerMs === 0) this.wakeup();
    else this.scheduleWake(batch.createdAt + this.lingerMs);
  }

  /** Appends waiting records in order while metadata and memory allow; fails those past `max.block.ms`. */
  private processWaiting(): void {
    const now = Date.now();
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      const r = w.record;
      const fatal = this.cluster.topicError(r.topic);
      if (fatal !== undefined && FATAL_TOPIC_ERRORS.has(fatal)) {
        this.waiting.shift();
        w.reject(new KafkaError(fatal, `topic '${r.topic}'`));
        continue;
      }
      let appended = false;
      try {
        appended = this.tryAppend(r, w);
      } catch (error) {
        this.waiting.shift();
        w.reject(error as Error);
        continue;
      }
      if (appended) {
        this.waiting.shift();
        continue;
      }
      if (now >= w.deadline) {
        this.waiting.shift();
        w.reject(this.blockTimeout(r));
        continue;
      }
      const meta = this.cluster.metadata.topics.get(r.topic);
      if (meta === undefined || meta.partitions.length === 0 || (r.partition !== undefined && r.partition >= meta.partitions.length)) {
        this.cluster.trackTopics([r.topic]);
        this.cluster.requestUpdate();
      } else {
        // Waiting for memory: send what is buffered now.
        this.wakeup();
      }
      break;
    }
    if (this.waitTimer !== null) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
    }
    if (this.waiting.length > 0) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = null;
        this.processWaiting();
      }, Math.max(1, this.waiting[0]!.deadline - now));
    } else {
      this.notifyIdle();
    }
  }

  private blockTimeout(r: NormalizedRecord): Error {
    const meta = this.cluster.metadata.topics.get(r.topic);
    if (meta === undefined || meta.partitions.length === 0) {
      const code = this.cluster.topicError(r.topic);
      const why = code !== undefined ? ` (${new KafkaError(code).errorName})` : '';
      return new TimeoutError(`Topic ${r.topic} not present in metadata after ${this.maxBlockMs} ms${why}.`);
    }
    if (r.partition !== undefined && r.partition >= meta.partitions.length) {
      return new TimeoutError(
        `Partition ${r.partition} of topic ${r.topic} with partition count ${meta.partitions.length} is not present in metadata after ${this.maxBlockMs} ms.`,
      );
    }
    return new BufferExhaustedError(
      `Failed to allocate ${r.size} bytes within the configured max blocking time ${this.maxBlockMs} ms: ` +
        `buffer.memory (${this.bufferMemory} bytes) is full with ${this.bufferUsed} bytes of records not yet acknowledged.`,
    );
  }

  private releaseMemory(bytes: number): void {
    this.bufferUsed -= bytes;
    if (this.waiting.length > 0) this.processWaiting();
  }

  // ------------------------------------------------------------------ sender

  private wakeup(): void {
    if (this.runScheduled) return;
    this.runScheduled = true;
    setImmediate(() => {
      this.runScheduled = false;
      try {
        this.run();
      } catch (error) {
        this.logger.error('producer sender failed', { error: (error as Error).message });
      }
    });
  }

  private scheduleWake(at: number): void {
    if (at >= this.wakeAt && this.wakeTimer !== null) return;
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.wakeAt = Infinity;
      this.wakeup();
    }, Math.max(0, at - Date.now()));
  }

  private run(): void {
    if (this.cluster.closed) return;
    const now = Date.now();
    this.cluster.maybeRefresh();
    const metadata = this.cluster.metadata;
    const memoryPressure = this.waiting.length > 0;
    let nextWake = Infinity;
    let needMetadata = false;
    const byNode = new Map<number, PartitionQueue[]>();

    for (const q of this.queues.values()) if (q.batches.length > 0) this.expire(q, now);
    if (!this.producerIdReady(now)) {
      if (this.pidRetryAt > now) this.scheduleWake(this.pidRetryAt);
      for (const q of this.queues.values()) {
        const head = q.batches[0];
        if (head !== undefined) this.scheduleWake(head.createdAt + this.deliveryTimeoutMs);
      }
      return;
    }

    for (const q of this.queues.values()) {
      const head = q.batches[0];
      if (head === undefined) continue;
      nextWake = Math.min(nextWake, head.createdAt + this.deliveryTimeoutMs);
      if (this.idempotent) {
        if (q.inFlight >= this.maxInFlight || (q.retrying && q.inFlight > 0)) continue;
      } else if (this.strictOrder ? q.inFlight > 0 : q.inFlight >= this.maxInFlight) {
        continue;
      }
      if (head.retryAt > now) {
        nextWake = Math.min(nextWake, head.retryAt);
        continue;
      }
      if (this.txn !== null && !this.txn.partitionReady(q.topic, q.partition)) continue;
      const ready =
        head.closed || q.batches.length > 1 || now - head.createdAt >= this.lingerMs || this.flushing > 0 || this.closing || memoryPressure;
      if (!ready) {
        nextWake = Math.min(nextWake, head.createdAt + this.lingerMs);
        continue;
      }
      const leader = metadata.leaderFor(q.topic, q.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      const list = byNode.get(leader);
      if (list === undefined) byNode.set(leader, [q]);
      else list.push(q);
    }
    if (needMetadata) {
      this.cluster.trackTopics(new Set([...this.queues.values()].filter((q) => q.batches.length > 0).map((q) => q.topic)));
      this.cluster.requestUpdate();
    }

    for (const [node, queues] of byNode) {
      const retryAt = this.nodeRetryAt.get(node) ?? 0;
      if (retryAt > now) {
        nextWake = Math.min(nextWake, retryAt);
        continue;
      }
      const conn = this.cluster.readyConnection(node);
      if (conn === null) {
        this.connectTo(node);
        continue;
      }
      if ((this.nodeInFlight.get(node) ?? 0) >= this.maxInFlight) continue;
      const batches: ProducerBatch[] = [];
      let size = 0;
      for (const q of queues) {
        const b = q.batches[0]!;
        if (batches.length > 0 && size + b.bytes > this.maxRequestSize) continue;
        q.batches.shift();
        if (this.strictOrder || this.idempotent) this.coalesce(b, q, this.maxRequestSize - size);
        if (this.idempotent && b.baseSequence < 0) {
          b.baseSequence = q.nextSequence;
          q.nextSequence = (q.nextSequence + b.records.length) % 0x80000000;
          b.built = null;
        }
        size += b.bytes;
        q.inFlight++;
        b.closed = true;
        b.attempts++;
        this.inFlightBatches.add(b);
        batches.push(b);
      }
      this.sendRequest(node, conn, batches);
      // More ready batches for this node wait for the next round (or a response).
      if (queues.some((q) => q.batches.length > 0)) nextWake = Math.min(nextWake, now + 1);
    }
    if (nextWake !== Infinity) this.scheduleWake(nextWake);
  }

  /**
   * Merges the full batches queued behind `b` into it, within `budget`
   * bytes. A partition has one batch in flight at a time (ordering), so
   * under backlog batches pile up behind it; sending them as one keeps a
   * round trip from carrying only `batch.size` bytes per partition.
   */
  private coalesce(b: ProducerBatch, q: PartitionQueue, budget: number): void {
    while (q.batches.length > 0) {
      const next = q.batches[0]!;
      if (!next.closed || !next.mergeable || !b.mergeable || next.retryAt > 0) break;
      if (b.baseSequence >= 0 || next.baseSequence >= 0) break;
      if (b.bytes + next.bytes - RECORD_BATCH_OVERHEAD > budget) break;
      q.batches.shift();
      for (let i = 0; i < next.records.length; i++) {
        b.records.push(next.records[i]!);
        b.callbacks.push(next.callbacks[i]!);
      }
      b.bytes += next.bytes - RECORD_BATCH_OVERHEAD;
      b.memory += next.memory;
      b.built = null;
      void b.done.then(() => next.finish());
      const st = this.sticky.get(next.topic);
      if (st !== undefined && st.batch === next) st.batch = b;
    }
  }

  private connectTo(node: number): void {
    if (this.nodeConnecting.has(node)) return;
    this.nodeConnecting.add(node);
    this.cluster.connectionToNode(node).then(
      () => {
        this.nodeConnecting.delete(node);
        this.wakeup();
      },
      (error: Error) => {
        this.nodeConnecting.delete(node);
        if (this.cluster.closed) return;
        this.logger.debug('cannot connect to partition leader', { node, error: error.message });
        const at = Date.now() + this.retryBackoffMs;
        this.nodeRetryAt.set(node, at);
        this.scheduleWake(at);
      },
    );
  }

  /** Fails batches (not in flight) past `delivery.timeout.ms`. */
  private expire(q: PartitionQueue, now: number): void {
    while (q.batches.length > 0) {
      const b = q.batches[0]!;
      if (now < b.createdAt + this.deliveryTimeoutMs) break;
      q.batches.shift();
      // An expired batch that was sent leaves a gap in the partition's sequences.
      if (b.baseSequence >= 0) this.needPidReset = true;
      this.failBatch(b, this.expiryError(b, now, null));
    }
  }

  /**
   * Whether batches may be sent: without idempotence always; with it once
   * a producer id is known (and not being replaced). Starts InitProducerId
   * when needed.
   */
  private producerIdReady(now: number): boolean {
    if (!this.idempotent) return true;
    if (this.txn !== null) return this.pidState === 'ready';
    if (this.needPidReset && this.pidState === 'ready') {
      if (this.inFlightBatches.size > 0) return false;
      this.logger.debug('sequence numbers out of step; getting a new producer id', { producerId: String(this.producerId) });
      this.pidState = 'none';
    }
    if (this.pidState === 'ready') return true;
    if (this.pidState === 'failed') {
      for (const q of this.queues.values()) for (const b of q.batches.splice(0)) this.failBatch(b, this.pidError!);
      return false;
    }
    if (this.pidState === 'none' && now >= this.pidRetryAt) void this.initProducerId();
    return false;
  }

  private async initProducerId(): Promise<void> {
    this.pidState = 'initializing';
    try {
      const conn = await this.cluster.anyConnection();
      if (!conn.supports(ApiKey.InitProducerId)) {
        if (!this.idempotenceExplicit) {
          this.logger.warn('the broker cannot assign producer ids; sending without idempotence', { broker: conn.address });
          this.idempotent = false;
          this.pidState = 'ready';
          return;
        }
        conn.version(ApiKey.InitProducerId); // throws UnsupportedVersionError
      }
      const response = await conn.request(ApiKey.InitProducerId, {
        transactionalId: null,
        transactionTimeoutMs: 2147483647,
      });
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, 'InitProducerId');
      this.producerId = response.producerId;
      this.producerEpoch = response.producerEpoch;
      this.pidAttempts = 0;
      for (const q of this.queues.values()) {
        q.nextSequence = 0;
        // Resent batches go one at a time until the broker took the first under the new id.
        q.retrying = q.batches.some((b) => b.attempts > 0);
        for (const b of q.batches) {
          b.baseSequence = -1;
          b.built = null;
        }
      }
      this.needPidReset = false;
      this.pidState = 'ready';
      this.logger.debug('producer id assigned', { producerId: String(this.producerId), epoch: this.producerEpoch });
    } catch (error) {
      if (this.cluster.closed) {
        this.pidState = 'none';
        return;
      }
      if (isRetriable(error) || error instanceof ConnectionError) {
        this.pidAttempts++;
        this.pidRetryAt = Date.now() + backoff(this.pidAttempts, this.retryBackoffMs, this.retryBackoffMaxMs);
        this.pidState = 'none';
        this.logger.debug('InitProducerId failed; retrying', { error: (error as Error).message });
      } else {
        this.pidError = error as Error;
        this.pidState = 'failed';
      }
    } finally {
      if (!this.cluster.closed) this.wakeup();
    }
  }

  private expiryError(b: ProducerBatch, now: number, cause: Error | null): TimeoutError {
    const error = new TimeoutError(
      `Expiring ${b.records.length} record(s) for ${tpKey(b.topic, b.partition)}: ${now - b.createdAt} ms has passed since batch creation` +
        (cause !== null ? ` (last error: ${cause.message})` : ''),
    );
    if (cause !== null) (error as Error & { cause?: unknown }).cause = cause;
    return error;
  }

  private build(b: ProducerBatch): Promise<Buffer> | Buffer {
    if (b.built !== null) return b.built;
    const options = {
      compression: this.compression,
      compressionLevel: this.compressionLevel,
      ...(b.baseSequence >= 0
        ? { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: b.baseSequence, transactional: this.txn !== null }
        : {}),
    };
    if (this.compression === CompressionType.None) {
      b.built = buildBatch(b.records, options);
      return b.built;
    }
    return buildBatchAsync(b.records, options).then((buf) => (b.built = buf));
  }

  private sendRequest(node: number, conn: BrokerConnection, batches: ProducerBatch[]): void {
    this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 0) + 1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const previous = this.nodeGate.get(node) ?? Promise.resolve();
    this.nodeGate.set(node, gate);
    this.counters.produceRequests++;
    this.counters.batchesSent += batches.length;

    const task = async (): Promise<void> => {
      let built: Buffer[];
      try {
        built = await Promise.all(batches.map((b) => this.build(b)));
      } catch (error) {
        await previous;
        release();
        for (const b of batches) this.onBatchError(b, new KafkaError(ErrorCode.CORRUPT_MESSAGE, `cannot build the batch: ${(error as Error).message}`));
        return;
      }
      await previous;
      const byTopic = new Map<string, { index: number; records: Buffer }[]>();
      batches.forEach((b, i) => {
        const list = byTopic.get(b.topic);
        const entry = { index: b.partition, records: built[i]! };
        if (list === undefined) byTopic.set(b.topic, [entry]);
        else list.push(entry);
      });
      const body = {
        transactionalId: this.txn?.transactionalId ?? null,
        acks: this.acks,
        timeoutMs: this.requestTimeoutMs,
        topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
      };
      let responsePromise: Promise<ProduceResponse>;
      try {
        responsePromise = conn.request(ApiKey.Produce, body, { expectResponse: this.acks !== 0 });
      } finally {
        release();
      }
      let response: ProduceResponse;
      try {
        response = await responsePromise;
      } catch (error) {
        for (const b of batches) this.onBatchError(b, error as Error);
        return;
      }
      if (this.acks === 0) {
        for (const b of batches) this.completeBatch(b, -1, -1);
        return;
      }
      this.handleResponse(batches, response);
    };
    task()
      .catch((error: Error) => {
        this.logger.error('produce request failed unexpectedly', { error: error.message });
        for (const b of batches) if (this.inFlightBatches.has(b)) this.onBatchError(b, error);
      })
      .finally(() => {
        this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 1) - 1);
        this.wakeup();
      });
  }

  private handleResponse(batches: ProducerBatch[], response: ProduceResponse): void {
    const results = new Map<string, (typeof response.responses)[number]['partitionResponses'][number]>();
    for (const t of response.responses) for (const p of t.partitionResponses) results.set(tpKey(t.name, p.index), p);
    for (const b of batches) {
      const r = results.get(tpKey(b.topic, b.partition));
      if (r === undefined) {
        this.onBatchError(b, new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `the produce response has no result for ${tpKey(b.topic, b.partition)}`));
        continue;
      }
      if (r.errorCode !== ErrorCode.NONE) {
        const detail = r.errorMessage ?? r.recordErrors?.find((e) => e.batchIndexErrorMessage)?.batchIndexErrorMessage ?? undefined;
        this.onBatchError(b, new KafkaError(r.errorCode, `${detail ?? new KafkaError(r.errorCode).detail} (${tpKey(b.topic, b.partition)})`));
        continue;
      }
      this.completeBatch(b, Number(r.baseOffset), r.logAppendTimeMs === undefined ? -1 : Number(r.logAppendTimeMs));
    }
  }

  private queueOf(b: ProducerBatch): PartitionQueue {
    return this.queues.get(tpKey(b.topic, b.partition))!;
  }

  private completeBatch(b: ProducerBatch, baseOffset: number, logAppendTime: number): void {
    if (!this.inFlightBatches.delete(b)) return;
    const q = this.queueOf(b);
    q.inFlight--;
    q.retrying = false;
    for (let i = 0; i < b.callbacks.length; i++) {
      b.callbacks[i]!.resolve({
        topic: b.topic,
        partition: b.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: logAppendTime >= 0 ? logAppendTime : b.records[i]!.timestamp!,
      });
    }
    this.counters.recordsSent += b.callbacks.length;
    b.built = null;
    b.finish();
    this.releaseMemory(b.memory);
    this.notifyIdle();
  }

  /** An in-flight batch failed: retry it at the head of its queue, split it, or fail its records. */
  private onBatchError(b: ProducerBatch, error: Error): void {
    if (!this.inFlightBatches.delete(b)) return;
    const q = this.queueOf(b);
    q.inFlight--;
    const now = Date.now();
    const code = error instanceof KafkaError ? error.code : undefined;
    if (code !== undefined && REFRESH_CODES.has(code)) this.cluster.requestUpdate();
    if (error instanceof ConnectionError) this.cluster.requestUpdate();

    if (this.txn !== null && code !== undefined && FENCED_CODES.has(code)) {
      this.failBatch(b, this.txn.fatal(error));
      return;
    }
    let retriable = isRetriable(error);
    if (this.idempotent && b.baseSequence >= 0) {
      if (code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        // The broker has this batch already (an earlier attempt got through).
        this.inFlightBatches.add(b);
        q.inFlight++;
        this.completeBatch(b, -1, -1);
        return;
      }
      if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID || code === ErrorCode.INVALID_PRODUCER_EPOCH) {
        // An earlier batch is being resent, or the sequences are out of step: resend after it / under a new producer id.
        const earlier = [...q.batches, ...this.inFlightBatches].some(
          (x) => x.topic === b.topic && x.partition === b.partition && x.baseSequence >= 0 && x.baseSequence < b.baseSequence,
        );
        if (!earlier || code !== ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) this.needPidReset = true;
        retriable = true;
      } else if (!retriable) {
        // The broker refused this batch for good: the batches after it are now out of sequence.
        this.needPidReset = true;
      }
    }

    if (code === ErrorCode.MESSAGE_TOO_LARGE && b.records.length > 1 && (this.strictOrder || this.idempotent)) {
      const half = Math.ceil(b.records.length / 2);
      const parts = [this.splitOff(b, 0, half), this.splitOff(b, half, b.records.length)];
      q.batches.unshift(...parts);
      q.retrying = true;
      this.logger.debug('batch too large; split in two', { partition: tpKey(b.topic, b.partition), records: b.records.length });
      void Promise.all(parts.map((p) => p.done)).then(() => b.finish());
      this.wakeup();
      return;
    }
    const deadline = b.createdAt + this.deliveryTimeoutMs;
    if (retriable && b.attempts <= this.retries && !this.forceClosed) {
      const delay = backoff(b.attempts, this.retryBackoffMs, this.retryBackoffMaxMs);
      if (now + delay < deadline) {
        b.retryAt = now + delay;
        this.requeue(q, b);
        this.counters.retries++;
        this.logger.debug('retrying batch', { partition: tpKey(b.topic, b.partition), attempt: b.attempts, error: error.message });
        this.scheduleWake(b.retryAt);
        return;
      }
      if (b.baseSequence >= 0) this.needPidReset = true;
      this.failBatch(b, this.expiryError(b, now, error));
      return;
    }
    this.failBatch(b, error);
  }

  /**
   * Puts a batch back to be resent: at the head without idempotence (one in
   * flight per partition), else in sequence order among the batches already
   * waiting to be resent, ahead of those never sent.
   */
  private requeue(q: PartitionQueue, b: ProducerBatch): void {
    if (!this.idempotent) {
      q.batches.unshift(b);
      return;
    }
    q.retrying = true;
    let i = 0;
    while (i < q.batches.length) {
      const x = q.batches[i]!;
      if (x.attempts === 0) break;
      if (b.baseSequence >= 0 && x.baseSequence > b.baseSequence) break;
      i++;
    }
    q.batches.splice(i, 0, b);
  }

  private splitOff(b: ProducerBatch, from: number, to: number): ProducerBatch {
    const part = new ProducerBatch(b.topic, b.partition, b.createdAt);
    for (let i = from; i < to; i++) {
      const r = b.records[i]!;
      part.records.push(r);
      part.callbacks.push(b.callbacks[i]!);
      const size = r.size;
      part.bytes += size;
      part.memory += size;
    }
    part.closed = true;
    part.mergeable = false;
    part.attempts = b.attempts;
    return part;
  }

  private failBatch(b: ProducerBatch, error: Error): void {
    this.inFlightBatches.delete(b);
    this.txn?.batchFailed(error);
    for (const cb of b.callbacks) cb.reject(error);
    this.counters.recordErrors += b.callbacks.length;
    b.built = null;
    b.finish();
    this.releaseMemory(b.memory);
    this.notifyIdle();
  }

  // ------------------------------------------------------------------ close

  private isIdle(): boolean {
    if (this.waiting.length > 0 || this.inFlightBatches.size > 0) return false;
    for (const q of this.queues.values()) if (q.batches.length > 0) return false;
    return true;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async doClose(timeoutMs: number | undefined): Promise<void> {
    this.wakeup();
    if (!this.isIdle()) {
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      if (timeoutMs === undefined) {
        await idle;
      } else {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          idle.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, timeoutMs)))),
        ]);
        clearTimeout(timer);
        if (timedOut) this.abortAll(new ClientClosedError('the producer was closed before the record was sent'));
      }
    }
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    this.wakeTimer = null;
    this.waitTimer = null;
    this.cluster.close();
  }

  private abortAll(error: Error): void {
    this.forceClosed = true;
    for (const w of this.waiting.splice(0)) w.reject(error);
    for (const q of this.queues.values()) for (const b of q.batches.splice(0)) this.failBatch(b, error);
    for (const b of [...this.inFlightBatches]) this.failBatch(b, error);
  }
}
