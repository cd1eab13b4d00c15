/**
 * Transactions: AddPartitionsToTxn v0-5 (v4+ batched, with verifyOnly),
 * AddOffsetsToTxn v0-4, EndTxn v0-4, TxnOffsetCommit v0-4, WriteTxnMarkers
 * v0-1, DescribeTransactions v0, ListTransactions v0-1, DescribeProducers v0;
 * plus the transaction coordinator's side of InitProducerId, FindCoordinator
 * (key type 1) and Produce (a transactional batch opening a transaction on a
 * partition is checked against the coordinator: the partition must be in
 * the producer's open transaction).
 *
 * The broker coordinates the transactional ids of the __transaction_state
 * partitions it leads (TransactionCoordinator, topic created on first use).
 * Markers for partitions it leads are written through the same function
 * WriteTxnMarkers serves, in process; markers for partitions led elsewhere go
 * to their leader as WriteTxnMarkers (TxnMarkerChannel). Either way a marker
 * is a COMMIT/ABORT control batch appended by the partition (which closes the
 * producer's transaction there, moves the last stable offset and indexes
 * aborts), answered once the ISR has it. A marker in a __consumer_offsets
 * partition also settles the offsets the transaction committed with
 * TxnOffsetCommit: they become visible on COMMIT. A transactional batch for a
 * partition whose coordinator is another broker is accepted unverified.
 *
 * Errors by version, as Kafka: PRODUCER_FENCED is INVALID_PRODUCER_EPOCH for
 * InitProducerId < v4 and AddPartitionsToTxn / AddOffsetsToTxn / EndTxn < v2;
 * TxnOffsetCommit reports member and generation errors from v3.
 *
 * Not done: EndTxn v5 and KIP-890 part 2 (epoch bump per transaction),
 * TRANSACTION_ABORTABLE, UNSTABLE_OFFSET_COMMIT for pending transactional
 * offsets in OffsetFetch (require_stable), ACLs.
 */
import { endpointFor } from '../../controller/endpoints.js';
import { groupCoordinatorFor, OFFSETS_TOPIC } from './groups.js';
import {
  appendErrorToCoordinatorError,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  offsetKey,
  type CommittedOffset,
} from '../../coordinator/index.js';
import { producerIdManagerFor } from '../../coordinator/transaction/producer-id-manager.js';
import { TxnMarkerChannel } from '../../coordinator/transaction/marker-channel.js';
import { TransactionCoordinator } from '../../coordinator/transaction/transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC, type MarkerTarget, type TransactionHost } from '../../coordinator/transaction/types.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult } from '../../protocol/messages/add-partitions-to-txn.js';
import type { DescribeProducersResponsePartitionResponse } from '../../protocol/messages/describe-producers.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponseTopic } from '../../protocol/messages/txn-offset-commit.js';
import type { WriteTxnMarkersResponseWritableTxnMarkerResult } from '../../protocol/messages/write-txn-markers.js';
import { buildBatch, scanBatches } from '../../protocol/records/index.js';
import { defineHandler, type ApiHandler } from '../handler-registry.js';
import { ensureInternalTopic, internalTopicLogs } from './internal-topic.js';
import type { Partition } from '../partition.js';
import type { BrokerServices } from '../services.js';
import { fencedFor, type TransactionalInit } from './init-producer-id.js';
import { CoordinatorKeyType, type CoordinatorLookup } from './find-coordinator.js';

// ---- the broker as the coordinator's host -----------------------------------

/**
 * EndTxn answers once its markers are written (at most this long), rather
 * than right after the Prepare state as Kafka does: the markers are local,
 * and the producer's next transaction then starts without a round of
 * CONCURRENT_TRANSACTIONS retries. See TransactionCoordinatorConfig.
 */
const COMPLETION_WAIT_MS = 5000;

interface TransactionServices {
  coordinator: TransactionCoordinator;
  /** Markers for partitions other brokers lead (cluster mode). */
  markers: TxnMarkerChannel;
  /** __consumer_offsets partition -> producer id -> group -> offsets written by TxnOffsetCommit, until the marker. */
  pendingOffsets: Map<number, Map<number, Map<string, Map<string, CommittedOffset>>>>;
}

const instances = new WeakMap<BrokerServices, TransactionServices>();

/** The broker's transaction coordinator (and pending transactional offsets), created and loaded on first use. */
export function transactionServicesFor(services: BrokerServices): TransactionServices {
  let entry = instances.get(services);
  if (!entry) {
    const pendingOffsets: TransactionServices['pendingOffsets'] = new Map();
    const markers = new TxnMarkerChannel({
      brokerId: services.brokerId,
      addressOf: (id) => services.replicaManager.clusterLink?.brokerAddress(id),
      requestTimeoutMs: services.config.get('request.timeout.ms'),
      logger: services.logger.child({ component: 'txn-marker-channel' }),
    });
    const coordinator = new TransactionCoordinator({
      host: brokerHost(services, pendingOffsets, markers),
      config: {
        txnTopicNumPartitions: services.config.get('transaction.state.log.num.partitions'),
        maxTimeoutMs: services.config.get('transaction.max.timeout.ms'),
        abortTimedOutIntervalMs: services.config.get('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
        transactionalIdExpirationMs: services.config.get('transactional.id.expiration.ms'),
        removeExpiredIntervalMs: services.config.get('transaction.remove.expired.transaction.cleanup.interval.ms'),
        loadBufferSize: services.config.get('transaction.state.log.load.buffer.size'),
        completionWaitMs: COMPLETION_WAIT_MS,
      },
      logger: services.logger.child({ component: 'transaction-coordinator' }),
    });
    entry = { coordinator, markers, pendingOffsets };
    instances.set(services, entry);
    services.replicaManager.onShutdown(async () => {
      coordinator.close();
      markers.close();
    });
    coordinator.startup();
    // Coordination follows partition leadership: a new leader loads (and completes prepared transactions) at once.
    services.replicaManager.onLeadershipChange((change) => {
      if (change.topic === TRANSACTION_STATE_TOPIC) coordinator.onLeadershipChange(change.partition);
    });
    const groups = groupCoordinatorFor(services);
    groups.setTransactionalOffsetsPendingProvider((groupId, key) => {
      const byProducer = pendingOffsets.get(groups.partitionFor(groupId));
      if (!byProducer) return false;
      for (const byGroup of byProducer.values()) if (byGroup.get(groupId)?.has(key)) return true;
      return false;
    });
    void recoverAllPendingOffsets(services, pendingOffsets);
  }
  return entry;
}

export function transactionCoordinatorFor(services: BrokerServices): TransactionCoordinator {
  return transactionServicesFor(services).coordinator;
}

function brokerHost(services: BrokerServices, pendingOffsets: TransactionServices['pendingOffsets'], markers: TxnMarkerChannel): TransactionHost {
  const { controller, replicaManager, config, brokerId } = services;
  const ids = producerIdManagerFor(controller, brokerId);
  return {
    txnTopicPartitionCount: () => controller.topic(TRANSACTION_STATE_TOPIC)?.partitions.length ?? null,
    ensureTxnTopic: () =>
      ensureInternalTopic(services, {
        name: TRANSACTION_STATE_TOPIC,
        numPartitions: config.get('transaction.state.log.num.partitions'),
        replicationFactor: config.get('transaction.state.log.replication.factor'),
        configs: (replicationFactor) => ({
          'cleanup.policy': 'compact',
          'min.insync.replicas': String(Math.max(1, Math.min(config.get('transaction.state.log.min.isr'), replicationFactor))),
          'segment.bytes': String(config.get('transaction.state.log.segment.bytes')),
          'compression.type': 'uncompressed',
        }),
      }),
    txnLog: internalTopicLogs(services, TRANSACTION_STATE_TOPIC, config.get('offsets.commit.timeout.ms')),
    topicPartitionCount: (topic) => controller.topic(topic)?.partitions.length ?? null,
    writeMarker(target) {
      // Written here when this broker leads the partition, else sent to its leader (the metadata cache's, as of now).
      const leader = controller.topic(target.topic)?.partitions[target.partition]?.leader;
      if (leader === undefined) return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (leader === brokerId || replicaManager.clusterLink === null) return writeTxnMarker(services, pendingOffsets, target);
      if (leader < 0) return Promise.resolve(ErrorCode.LEADER_NOT_AVAILABLE);
      return markers.send(leader, target);
    },
    generateProducerId: () => ids.generate(),
  };
}

/**
 * Writes one transaction marker to a partition this broker leads
 * (WriteTxnMarkers' work, also used in process by the coordinator).
 * Resolves with Kafka's error code for the partition.
 */
async function writeTxnMarker(services: BrokerServices, pendingOffsets: TransactionServices['pendingOffsets'], m: MarkerTarget): Promise<number> {
  try {
    if (!services.controller.topic(m.topic)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const partition = services.replicaManager.leaderPartition(m.topic, m.partition);
    const isOffsets = m.topic === OFFSETS_TOPIC;
    if (isOffsets && m.commit) await recoverPendingOffsets(partition, pendingOffsets, m.producerId);
    const offset = await partition.appendTxnMarker(m.producerId, m.producerEpoch, m.commit, m.coordinatorEpoch);
    // As Kafka (acks=all): the coordinator completes the transaction only once its markers cannot be lost with a leader.
    const leading = () => partition.isLeader && services.replicaManager.getPartition(m.topic, m.partition) === partition;
    const settled = () => !leading() || partition.highWatermark > offset;
    if (!settled()) await services.replicaManager.purgatory.wait([partition.key], services.config.get('request.timeout.ms'), settled);
    if (!leading()) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (partition.highWatermark <= offset) return ErrorCode.REQUEST_TIMED_OUT;
    if (isOffsets) {
      const byGroup = pendingOffsets.get(m.partition)?.get(m.producerId);
      pendingOffsets.get(m.partition)?.delete(m.producerId);
      if (m.commit && byGroup) {
        const groups = groupCoordinatorFor(services);
        for (const [groupId, offsets] of byGroup) await groups.materializeTransactionalOffsets(groupId, offsets);
      }
    }
    return ErrorCode.NONE;
  } catch (err) {
    if (err instanceof KafkaError) return err.code;
    services.logger.error('writing a transaction marker failed', { topic: m.topic, partition: m.partition, err: String(err) });
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** At start-up: the offsets of transactions left open in __consumer_offsets, read back from the log. */
async function recoverAllPendingOffsets(services: BrokerServices, pendingOffsets: TransactionServices['pendingOffsets']): Promise<void> {
  for (const partition of services.replicaManager.allPartitions()) {
    if (partition.topic !== OFFSETS_TOPIC || !partition.isLeader || !partition.producerState) continue;
    for (const entry of partition.producerState.entries()) {
      if (entry.currentTxnFirstOffset < 0) continue;
      await recoverPendingOffsets(partition, pendingOffsets, entry.producerId).catch((err: unknown) =>
        services.logger.warn('could not read back pending transactional offsets', { partition: partition.key, err: String(err) }),
      );
    }
  }
}

/**
 * After a restart the offsets of a transaction still open in a
 * __consumer_offsets partition are only in the log: read them back from the
 * transaction's first offset (known to the partition's producer state).
 */
async function recoverPendingOffsets(partition: Partition, pendingOffsets: TransactionServices['pendingOffsets'], producerId: number): Promise<void> {
  if (pendingOffsets.get(partition.index)?.has(producerId)) return;
  const first = partition.producerState?.entry(producerId)?.currentTxnFirstOffset ?? -1;
  if (first < 0) return;
  const found = new Map<string, Map<string, CommittedOffset>>();
  let offset = first;
  const end = partition.log.logEndOffset;
  while (offset < end) {
    const { records } = await partition.log.read(offset, 1 << 20, { maxOffset: end });
    const { batches } = scanBatches(records);
    if (batches.length === 0) break;
    for (const batch of batches) {
      offset = batch.nextOffset;
      if (batch.isControl || !batch.isTransactional || Number(batch.producerId) !== producerId) continue;
      for (const record of await batch.recordsAsync()) {
        if (record.key === null || record.value === null) continue;
        const key = decodeOffsetsTopicKey(record.key);
        if (key.kind !== 'offset') continue;
        let group = found.get(key.group);
        if (!group) found.set(key.group, (group = new Map()));
        group.set(offsetKey(key.topic, key.partition), decodeOffsetCommitValue(record.value));
      }
    }
  }
  if (found.size === 0) return;
  let byProducer = pendingOffsets.get(partition.index);
  if (!byProducer) pendingOffsets.set(partition.index, (byProducer = new Map()));
  byProducer.set(producerId, found);
}

// ---- hooks for other handlers -------------------------------------------------

/** InitProducerId's transactional side. */
export function transactionalInit(services: BrokerServices): TransactionalInit {
  return (request) => transactionCoordinatorFor(services).initProducerId(request);
}

/** FindCoordinator: transactional ids are answered here, every other key type by `fallback`. */
export function transactionCoordinatorLookup(services: BrokerServices, fallback: CoordinatorLookup): CoordinatorLookup {
  return async (keyType, key, context) => {
    if (keyType !== CoordinatorKeyType.TRANSACTION) return fallback(keyType, key, context);
    const coordinator = transactionCoordinatorFor(services);
    const status = await coordinator.status(key);
    // NOT_COORDINATOR only says another broker leads the id's partition (a cluster): point to it.
    if (status !== null && status !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && status !== ErrorCode.NOT_COORDINATOR) {
      throw new KafkaError(status, `The transaction coordinator for ${key} is not available here.`);
    }
    const partition = coordinator.partitionFor(key);
    const state = services.controller.topic(TRANSACTION_STATE_TOPIC)?.partitions[partition];
    const broker = state && state.leader >= 0 ? services.controller.brokers().find((b) => b.brokerId === state.leader) : undefined;
    const endpoint = broker ? endpointFor(broker, context?.connection.listenerName ?? '') : undefined;
    if (!endpoint) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${TRANSACTION_STATE_TOPIC}-${partition} has no leader available.`);
    return { nodeId: state!.leader, host: endpoint.host, port: endpoint.port };
  };
}

/**
 * Produce and TxnOffsetCommit: checks that a transactional batch opening a
 * transaction on topic-partition belongs to one, when this broker is the
 * id's transaction coordinator. When another broker coordinates it the batch
 * is accepted unverified and opens the transaction here, as Kafka before 3.6
 * (no AddPartitionsToTxn verify_only round trip); so it is with
 * transaction.partition.verification.enable=false.
 */
export function transactionVerifier(services: BrokerServices, transactionalId: string | null, topic: string, partition: number) {
  return async (producerId: number, producerEpoch: number): Promise<void> => {
    const coordinator = transactionCoordinatorFor(services);
    if (transactionalId !== null && transactionalId !== '') {
      if (!services.config.get('transaction.partition.verification.enable')) return;
      if ((await coordinator.status(transactionalId)) === ErrorCode.NOT_COORDINATOR) return;
    }
    await coordinator.verifyPartition(transactionalId, producerId, producerEpoch, topic, partition);
  };
}

// ---- handlers -------------------------------------------------------------------

function errorCodeOf(err: unknown, services: BrokerServices, what: string): number {
  if (err instanceof KafkaError) return err.code;
  services.logger.error(`${what} failed`, { err: String(err) });
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function createTransactionHandlers(services: BrokerServices): ApiHandler<any>[] {
  const { controller, replicaManager } = services;
  // Load __transaction_state now: transactions a crash left prepared get their markers without waiting for a client.
  transactionServicesFor(services);

  /** Per-partition answers for one transaction's AddPartitionsToTxn. */
  async function addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    topics: { name: string; partitions: number[] }[],
    verifyOnly: boolean,
    version: number,
  ): Promise<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[]> {
    const answer = (code: (topic: string, p: number) => number) =>
      topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })) }));
    const unknown = (topic: string, p: number) => {
      const count = controller.topic(topic)?.partitions.length ?? 0;
      return p < 0 || p >= count;
    };
    if (topics.some((t) => t.partitions.some((p) => unknown(t.name, p)))) {
      return answer((t, p) => (unknown(t, p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED));
    }
    try {
      const missing = await transactionCoordinatorFor(services).addPartitions(
        transactionalId,
        Number(producerId),
        producerEpoch,
        topics.map((t) => ({ topic: t.name, partitions: t.partitions })),
        verifyOnly,
      );
      const absent = new Set(missing.flatMap((m) => m.partitions.map((p) => `${m.topic}\u0000${p}`)));
      return answer((t, p) => (absent.has(`${t}\u0000${p}`) ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE));
    } catch (err) {
      const code = fencedFor(errorCodeOf(err, services, 'AddPartitionsToTxn'), version, 2);
      return answer(() => code);
    }
  }

  const addPartitionsToTxn = defineHandler({
    apiKey: ApiKey.AddPartitionsToTxn,
    minVersion: 0,
    maxVersion: 5,
    async handle(request, context) {
      const version = context.apiVersion;
      if (version <= 3) {
        const results = await addPartitions(
          request.v3AndBelowTransactionalId ?? '',
          request.v3AndBelowProducerId ?? -1n,
          request.v3AndBelowProducerEpoch ?? -1,
          request.v3AndBelowTopics ?? [],
          false,
          version,
        );
        return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
      }
      const resultsByTransaction = await Promise.all(
        (request.transactions ?? []).map(async (t) => ({
          transactionalId: t.transactionalId,
          topicResults: await addPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, version),
        })),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
    },
  });

  const addOffsetsToTxn = defineHandler({
    apiKey: ApiKey.AddOffsetsToTxn,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      try {
        const partition = await offsetsPartitionOf(services, request.groupId);
        await transactionCoordinatorFor(services).addPartitions(
          request.transactionalId,
          Number(request.producerId),
          request.producerEpoch,
          [{ topic: OFFSETS_TOPIC, partitions: [partition] }],
        );
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE };
      } catch (err) {
        return { throttleTimeMs: 0, errorCode: fencedFor(errorCodeOf(err, services, 'AddOffsetsToTxn'), context.apiVersion, 2) };
      }
    },
  });

  const endTxn = defineHandler({
    apiKey: ApiKey.EndTxn,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      try {
        await transactionCoordinatorFor(services).endTransaction(request.transactionalId, Number(request.producerId), request.producerEpoch, request.committed);
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE };
      } catch (err) {
        return { throttleTimeMs: 0, errorCode: fencedFor(errorCodeOf(err, services, 'EndTxn'), context.apiVersion, 2) };
      }
    },
  });

  const writeTxnMarkers = defineHandler({
    apiKey: ApiKey.WriteTxnMarkers,
    minVersion: 0,
    maxVersion: 1,
    async handle(request) {
      const { pendingOffsets } = transactionServicesFor(services);
      // Every partition at once: each waits for its ISR, and one slow partition must not hold back the rest.
      const markers: WriteTxnMarkersResponseWritableTxnMarkerResult[] = await Promise.all(
        request.markers.map(async (m) => ({
          producerId: m.producerId,
          topics: await Promise.all(
            m.topics.map(async (t) => ({
              name: t.name,
              partitions: await Promise.all(
                t.partitionIndexes.map(async (p) => ({
                  partitionIndex: p,
                  errorCode: await writeTxnMarker(services, pendingOffsets, {
                    topic: t.name,
                    partition: p,
                    producerId: Number(m.producerId),
                    producerEpoch: m.producerEpoch,
                    commit: m.transactionResult,
                    coordinatorEpoch: m.coordinatorEpoch,
                  }),
                })),
              ),
            })),
          ),
        })),
      );
      return { markers };
    },
  });

  const txnOffsetCommit = defineHandler({
    apiKey: ApiKey.TxnOffsetCommit,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      const version = context.apiVersion;
      const all = (code: number): TxnOffsetCommitResponseTopic[] =>
        request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) }));
      try {
        const code = await commitTransactionalOffsets(services, request, version);
        if (typeof code !== 'number') return { throttleTimeMs: 0, topics: code };
        return { throttleTimeMs: 0, topics: all(code) };
      } catch (err) {
        return { throttleTimeMs: 0, topics: all(errorCodeOf(err, services, 'TxnOffsetCommit')) };
      }
    },
  });

  const describeTransactions = defineHandler({
    apiKey: ApiKey.DescribeTransactions,
    minVersion: 0,
    maxVersion: 0,
    async handle(request) {
      const coordinator = transactionCoordinatorFor(services);
      const transactionStates = await Promise.all(
        request.transactionalIds.map(async (id) => {
          const d = await coordinator.describe(id);
          return {
            errorCode: d.errorCode,
            transactionalId: id,
            transactionState: d.state,
            transactionTimeoutMs: d.timeoutMs,
            transactionStartTimeMs: BigInt(d.startTimestamp),
            producerId: BigInt(d.producerId),
            producerEpoch: d.producerEpoch,
            topics: d.topics.map((t) => ({ topic: t.topic, partitions: t.partitions })),
          };
        }),
      );
      return { throttleTimeMs: 0, transactionStates };
    },
  });

  const listTransactions = defineHandler({
    apiKey: ApiKey.ListTransactions,
    minVersion: 0,
    maxVersion: 1,
    async handle(request) {
      const result = transactionCoordinatorFor(services).list(
        request.stateFilters,
        request.producerIdFilters.map(Number),
        request.durationFilter === undefined ? -1 : Number(request.durationFilter),
      );
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        unknownStateFilters: result.unknownStateFilters,
        transactionStates: result.transactions.map((t) => ({ transactionalId: t.transactionalId, producerId: BigInt(t.producerId), transactionState: t.state })),
      };
    },
  });

  const describeProducers = defineHandler({
    apiKey: ApiKey.DescribeProducers,
    minVersion: 0,
    maxVersion: 0,
    handle(request) {
      const topics = request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((index): DescribeProducersResponsePartitionResponse => {
          try {
            if (!controller.topic(t.name)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${t.name} does not exist.`);
            const partition = replicaManager.leaderPartition(t.name, index);
            const activeProducers = (partition.producerState?.entries() ?? []).map((e) => ({
              producerId: BigInt(e.producerId),
              producerEpoch: e.epoch,
              lastSequence: e.batches.at(-1)?.lastSeq ?? -1,
              lastTimestamp: BigInt(e.batches.at(-1)?.timestamp ?? -1),
              coordinatorEpoch: e.coordinatorEpoch,
              currentTxnStartOffset: BigInt(e.currentTxnFirstOffset),
            }));
            return { partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
          } catch (err) {
            if (!(err instanceof KafkaError)) throw err;
            return { partitionIndex: index, errorCode: err.code, errorMessage: err.detail, activeProducers: [] };
          }
        }),
      }));
      return { throttleTimeMs: 0, topics };
    },
  });

  return [addPartitionsToTxn, addOffsetsToTxn, endTxn, writeTxnMarkers, txnOffsetCommit, describeTransactions, listTransactions, describeProducers];
}

// ---- TxnOffsetCommit ------------------------------------------------------------

/**
 * The group's __consumer_offsets partition (created on first use), where
 * AddOffsetsToTxn and TxnOffsetCommit write. Throws INVALID_GROUP_ID or
 * COORDINATOR_NOT_AVAILABLE.
 */
async function offsetsPartitionOf(services: BrokerServices, groupId: string): Promise<number> {
  if (groupId === '') throw new KafkaError(ErrorCode.INVALID_GROUP_ID, 'The group id must not be empty.');
  const groups = groupCoordinatorFor(services);
  try {
    await groups.ensureOffsetsTopic();
  } catch {
    throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `The ${OFFSETS_TOPIC} topic could not be created.`);
  }
  return groups.partitionFor(groupId);
}


/**
 * Writes the offsets as one transactional batch to the group's
 * __consumer_offsets partition (Kafka's records, the producer's id and
 * epoch) and keeps them pending until the transaction's marker. Returns (or
 * throws as a KafkaError) one error code for every partition, or the
 * per-partition answers.
 */
async function commitTransactionalOffsets(services: BrokerServices, request: TxnOffsetCommitRequest, version: number): Promise<number | TxnOffsetCommitResponseTopic[]> {
  const { controller, replicaManager, config } = services;
  const groups = groupCoordinatorFor(services);
  const index = await offsetsPartitionOf(services, request.groupId);
  const status = groups.partitionStatus(index);
  if (status !== null) return status;
  // Kafka's validateOffsetCommit for transactional commits (member and generation from v3).
  const generationId = version >= 3 ? (request.generationId ?? -1) : -1;
  const memberId = version >= 3 ? (request.memberId ?? '') : '';
  const instanceId = version >= 3 ? (request.groupInstanceId ?? null) : null;
  const group = groups.getGroup(request.groupId);
  if (group?.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (generationId >= 0 || memberId !== '' || instanceId !== null) {
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(instanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  }
  const maxMetadata = config.get('offset.metadata.max.bytes');
  const now = Date.now();
  const results: TxnOffsetCommitResponseTopic[] = [];
  const offsets = new Map<string, CommittedOffset>();
  const records = [];
  for (const t of request.topics) {
    const partitions = [];
    const count = controller.topic(t.name)?.partitions.length ?? 0;
    for (const p of t.partitions) {
      let errorCode: number = ErrorCode.NONE;
      if (p.partitionIndex < 0 || p.partitionIndex >= count) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      else if (p.committedMetadata !== null && p.committedMetadata.length > maxMetadata) errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
      else {
        const value: CommittedOffset = {
          offset: Number(p.committedOffset),
          leaderEpoch: p.committedLeaderEpoch ?? -1,
          metadata: p.committedMetadata ?? '',
          commitTimestamp: now,
          expireTimestamp: null,
        };
        offsets.set(offsetKey(t.name, p.partitionIndex), value);
        records.push({ key: encodeOffsetCommitKey(request.groupId, t.name, p.partitionIndex), value: encodeOffsetCommitValue(value), timestamp: now });
      }
      partitions.push({ partitionIndex: p.partitionIndex, errorCode });
    }
    results.push({ name: t.name, partitions });
  }
  if (records.length === 0) return results;
  const producerId = Number(request.producerId);
  const partition = replicaManager.leaderPartition(OFFSETS_TOPIC, index);
  const batch = buildBatch(records, { producerId: request.producerId, producerEpoch: request.producerEpoch, transactional: true, now });
  let code: number = ErrorCode.NONE;
  try {
    await partition.appendAsLeader(batch, {
      coordinator: true,
      verifyTransaction: transactionVerifier(services, request.transactionalId, OFFSETS_TOPIC, index),
    });
  } catch (err) {
    // Translated as any offset commit's append (Kafka's GroupMetadataManager does the same for both).
    code = err instanceof KafkaError ? appendErrorToCoordinatorError(err.code, 'offsets') : ErrorCode.UNKNOWN_SERVER_ERROR;
    if (!(err instanceof KafkaError)) services.logger.error('TxnOffsetCommit append failed', { err: String(err) });
  }
  if (code === ErrorCode.NONE) {
    const { pendingOffsets } = transactionServicesFor(services);
    let byProducer = pendingOffsets.get(index);
    if (!byProducer) pendingOffsets.set(index, (byProducer = new Map()));
    let byGroup = byProducer.get(producerId);
    if (!byGroup) byProducer.set(producerId, (byGroup = new Map()));
    let mine = byGroup.get(request.groupId);
    if (!mine) byGroup.set(request.groupId, (mine = new Map()));
    for (const [k, v] of offsets) mine.set(k, v);
  }
  return results.map((t) => ({ ...t, partitions: t.partitions.map((p) => (p.errorCode === ErrorCode.NONE ? { ...p, errorCode: code } : p)) }));
}
