/**
 * ListOffsets v1-10: earliest (-2), latest (-1: the high watermark, or the
 * last stable offset for read_committed), max timestamp (-3, v7+), earliest
 * local (-4, v8+: the log start offset, as nothing is tiered), latest tiered
 * (-5, v9+: none, so -1) and lookups by timestamp through the time index.
 *
 * Not served: v0 (multiple "old style" offsets per partition).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { ListOffsetsResponseListOffsetsPartitionResponse } from '../../protocol/messages/list-offsets.js';
import { defineHandler } from '../handler-registry.js';
import type { Partition } from '../partition.js';
import type { BrokerServices } from '../services.js';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const READ_COMMITTED = 1;

interface Found {
  offset: number;
  timestamp: number;
}

export function createListOffsetsHandler(services: BrokerServices) {
  const { replicaManager, controller } = services;

  async function lookup(partition: Partition, timestamp: bigint, readCommitted: boolean): Promise<Found> {
    const log = partition.log;
    const visibleEnd = readCommitted ? partition.lastStableOffset : partition.highWatermark;
    switch (timestamp) {
      case LATEST:
        return { offset: visibleEnd, timestamp: -1 };
      case EARLIEST:
      case EARLIEST_LOCAL:
        return { offset: log.logStartOffset, timestamp: -1 };
      case LATEST_TIERED:
        return { offset: -1, timestamp: -1 };
      case MAX_TIMESTAMP:
        return (await log.latestTimestamp()) ?? { offset: -1, timestamp: -1 };
      default: {
        if (timestamp < 0n) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown special timestamp ${timestamp}.`);
        }
        const hit = await log.offsetForTimestamp(Number(timestamp), visibleEnd);
        return hit && hit.offset < visibleEnd ? hit : { offset: -1, timestamp: -1 };
      }
    }
  }

  return defineHandler({
    apiKey: ApiKey.ListOffsets,
    minVersion: 1,
    maxVersion: 10,
    async handle(request) {
      const readCommitted = request.isolationLevel === READ_COMMITTED;
      const topics = await Promise.all(
        request.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(
            t.partitions.map(async (p): Promise<ListOffsetsResponseListOffsetsPartitionResponse> => {
              try {
                if (!controller.topic(t.name)) {
                  throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${t.name} does not exist.`);
                }
                const partition = replicaManager.leaderPartition(t.name, p.partitionIndex);
                replicaManager.checkLeaderEpoch(partition, p.currentLeaderEpoch ?? -1);
                const found = await lookup(partition, p.timestamp, readCommitted);
                return {
                  partitionIndex: p.partitionIndex,
                  errorCode: ErrorCode.NONE,
                  timestamp: BigInt(found.timestamp),
                  offset: BigInt(found.offset),
                  leaderEpoch: found.offset >= 0 ? partition.leaderEpoch : -1,
                };
              } catch (err) {
                if (!(err instanceof KafkaError)) throw err;
                return { partitionIndex: p.partitionIndex, errorCode: err.code, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
              }
            }),
          ),
        })),
      );
      return { throttleTimeMs: 0, topics };
    },
  });
}
