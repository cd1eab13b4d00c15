/**
 * Fetch v4-17, for consumers and for followers (replication).
 *
 * Consumers read whole batches below the high watermark (the last stable
 * offset for read_committed, with the aborted transactions overlapping what
 * was read, from the partition's aborted-transactions index), at most
 * partition_max_bytes per partition and max_bytes in all — except that the
 * first batch of the first partition with data is returned whole even when
 * larger, as Kafka does so a consumer can always make progress. With fewer
 * than min_bytes available the request parks in the purgatory until appends
 * bring enough or max_wait_ms passes: no polling.
 *
 * A follower (replica_id >= 0 before v15, replica_state.replica_id from
 * v15) must be an assigned replica; its fetch offset is recorded as its log
 * end offset (which may grow the ISR and advance the high watermark) before
 * it reads up to the leader's log end offset, not the high watermark, and it
 * waits for the log end to grow.
 *
 * Not yet: incremental fetch sessions (KIP-227) — the broker answers with
 * session id 0, which tells clients to keep sending full fetches; diverging
 * epochs (v12+ last_fetched_epoch: our followers truncate with
 * OffsetForLeaderEpoch instead); preferred read replicas (always -1).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type {
  FetchRequestFetchPartition,
  FetchResponse,
  FetchResponsePartitionData,
} from '../../protocol/messages/fetch.js';
import { ZERO_UUID, type Uuid } from '../../protocol/primitives.js';
import { LAST_OFFSET_DELTA, RECORD_BATCH_OVERHEAD } from '../../protocol/records/layout.js';
import { batchSize, readInt64 } from '../../storage/batch-header.js';
import { defineHandler } from '../handler-registry.js';
import type { Partition } from '../partition.js';
import type { BrokerServices } from '../services.js';

const EMPTY = Buffer.alloc(0);
const READ_COMMITTED = 1;
/** Fetch versions from which topics are named by id (KIP-516). */
const TOPIC_ID_VERSION = 13;

interface FetchTarget {
  name: string;
  topicId: Uuid;
  request: FetchRequestFetchPartition;
  partition: Partition | null;
  error: KafkaError | null;
}

export function createFetchHandler(services: BrokerServices) {
  const { controller, replicaManager } = services;

  function resolveTargets(
    topics: { topic?: string; topicId?: Uuid; partitions: FetchRequestFetchPartition[] }[],
    version: number,
    replicaId: number,
  ) {
    const targets: FetchTarget[] = [];
    for (const t of topics) {
      const record = version >= TOPIC_ID_VERSION ? controller.topicById(t.topicId ?? ZERO_UUID) : controller.topic(t.topic ?? '');
      for (const request of t.partitions) {
        const target: FetchTarget = { name: record?.name ?? t.topic ?? '', topicId: record?.topicId ?? t.topicId ?? ZERO_UUID, request, partition: null, error: null };
        try {
          if (!record) {
            throw version >= TOPIC_ID_VERSION
              ? new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not know the topic id.')
              : new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host topic ${t.topic}.`);
          }
          target.partition = replicaManager.leaderPartition(record.name, request.partition);
          const currentLeaderEpoch = request.currentLeaderEpoch ?? -1;
          replicaManager.checkLeaderEpoch(target.partition, currentLeaderEpoch);
          if (replicaId >= 0) target.partition.checkFollower(replicaId, currentLeaderEpoch >= 0);
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          target.error = err;
        }
        targets.push(target);
      }
    }
    return targets;
  }

  /** A follower's fetch offset is its log end offset (when it is one the leader can serve). */
  function recordFollowerPositions(targets: FetchTarget[], replicaId: number): void {
    for (const { partition, request, error } of targets) {
      if (!partition || error) continue;
      const fetchOffset = Number(request.fetchOffset);
      const log = partition.log;
      if (fetchOffset < log.logStartOffset || fetchOffset > log.logEndOffset) continue;
      partition.recordFollowerFetch(replicaId, fetchOffset, Number(request.logStartOffset ?? -1n));
    }
  }

  async function readAll(targets: FetchTarget[], maxBytes: number, readCommitted: boolean, fromFollower: boolean) {
    let budget = maxBytes;
    let total = 0;
    const results: FetchResponsePartitionData[] = [];
    for (const target of targets) {
      const { partition, request } = target;
      if (!partition || target.error) {
        results.push(errorData(request.partition, target.error?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR));
        continue;
      }
      const log = partition.log;
      const highWatermark = partition.highWatermark;
      const lastStable = partition.lastStableOffset;
      const data: FetchResponsePartitionData = {
        partitionIndex: request.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: BigInt(highWatermark),
        lastStableOffset: BigInt(lastStable),
        logStartOffset: BigInt(log.logStartOffset),
        abortedTransactions: readCommitted ? [] : null,
        preferredReadReplica: -1,
        records: EMPTY,
      };
      const limit = Math.min(request.partitionMaxBytes, budget);
      if (limit > 0 || total === 0) {
        try {
          const read = await log.read(Number(request.fetchOffset), Math.max(limit, 0), {
            minOneBatch: total === 0,
            maxOffset: fromFollower ? log.logEndOffset : readCommitted ? lastStable : highWatermark,
          });
          data.records = read.records;
          data.logStartOffset = BigInt(read.logStartOffset);
          if (readCommitted && read.records.length > 0) {
            const fetchOffset = Number(request.fetchOffset);
            data.abortedTransactions = partition
              .abortedTransactions(fetchOffset, endOffsetOf(read.records))
              .map((t) => ({ producerId: BigInt(t.producerId), firstOffset: BigInt(t.firstOffset) }));
          }
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          data.errorCode = err.code;
        }
      }
      const size = data.records?.length ?? 0;
      total += size;
      budget -= size;
      results.push(data);
    }
    return { results, total };
  }

  return defineHandler({
    apiKey: ApiKey.Fetch,
    minVersion: 4,
    maxVersion: 17,
    async handle(request, context) {
      const version = context.apiVersion;
      if (version >= 7 && (request.sessionId ?? 0) !== 0) {
        const response: FetchResponse = { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
        return response;
      }
      const replicaId = version >= 15 ? (request.replicaState?.replicaId ?? -1) : (request.replicaId ?? -1);
      const fromFollower = replicaId >= 0;
      // Followers read everything the leader has, whatever isolation they name.
      const readCommitted = !fromFollower && request.isolationLevel === READ_COMMITTED;
      const maxBytes = request.maxBytes ?? 0x7fffffff;
      const targets = resolveTargets(request.topics, version, replicaId);
      if (fromFollower) recordFollowerPositions(targets, replicaId);

      let { results, total } = await readAll(targets, maxBytes, readCommitted, fromFollower);
      const live = targets.filter((t) => t.partition && !t.error).map((t) => t.partition!);
      if (request.maxWaitMs > 0 && total < request.minBytes && live.length > 0 && live.length === targets.length) {
        // read_committed readers wait for the last stable offset to move, followers for the log end.
        const visibleEnd = (p: Partition) => (fromFollower ? p.log.logEndOffset : readCommitted ? p.lastStableOffset : p.highWatermark);
        const startSizes = live.map((p) => p.log.sizeInBytes);
        const startHighWatermarks = live.map(visibleEnd);
        const enough = () => {
          let grown = total;
          for (let i = 0; i < live.length; i++) {
            const p = live[i]!;
            if (replicaManager.getPartition(p.topic, p.index) !== p || !p.isLeader) return true;
            if (visibleEnd(p) > startHighWatermarks[i]!) grown += Math.max(1, p.log.sizeInBytes - startSizes[i]!);
          }
          return grown >= request.minBytes;
        };
        const woken = await replicaManager.purgatory.wait(live.map((p) => p.key), request.maxWaitMs, enough);
        if (woken || live.some((p, i) => visibleEnd(p) > startHighWatermarks[i]!)) {
          ({ results, total } = await readAll(resolveTargets(request.topics, version, replicaId), maxBytes, readCommitted, fromFollower));
        }
      }

      const byTopic = new Map<string, FetchResponse['responses'][number]>();
      const responses: FetchResponse['responses'] = [];
      targets.forEach((target, i) => {
        const key = version >= TOPIC_ID_VERSION ? target.topicId : target.name;
        let entry = byTopic.get(key);
        if (!entry) {
          entry = { topic: target.name, topicId: target.topicId, partitions: [] };
          byTopic.set(key, entry);
          responses.push(entry);
        }
        entry.partitions.push(results[i]!);
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
    },
  });
}

/** The offset after the last whole batch of `records` (batch headers only). */
function endOffsetOf(records: Buffer): number {
  let end = 0;
  for (let at = 0; at + RECORD_BATCH_OVERHEAD <= records.length; ) {
    end = readInt64(records, at) + records.readInt32BE(at + LAST_OFFSET_DELTA) + 1;
    at += batchSize(records, at);
  }
  return end;
}

function errorData(partitionIndex: number, errorCode: number): FetchResponsePartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}
