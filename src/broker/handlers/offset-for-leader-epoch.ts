/**
 * OffsetForLeaderEpoch v0-4 (KIP-101, KIP-279, KIP-320): for each partition,
 * the largest leader epoch at or below the requested one in the leader's
 * epoch cache and the offset where it ended (the start of the next epoch, or
 * the log end offset for the current one), or UNDEFINED (-1, -1) when the
 * leader knows no such epoch. Followers truncate a divergent tail with it;
 * consumers validate their position after a leader change.
 *
 * Only the leader answers, as Kafka: NOT_LEADER_OR_FOLLOWER from a broker
 * that does not lead the partition (or hosts no replica of an existing one),
 * UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist, and from
 * v2 the caller's current_leader_epoch is checked first (FENCED_LEADER_EPOCH
 * when older than ours, UNKNOWN_LEADER_EPOCH when newer). v0 answers carry
 * no epoch; v3 adds replica_id (nothing depends on it without ACLs).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { OffsetForLeaderEpochResponseEpochEndOffset } from '../../protocol/messages/offset-for-leader-epoch.js';
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from '../../storage/leader-epoch-cache.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

export function createOffsetForLeaderEpochHandler(services: BrokerServices) {
  const { controller, replicaManager } = services;

  function endOffset(topic: string, index: number, currentLeaderEpoch: number, leaderEpoch: number): OffsetForLeaderEpochResponseEpochEndOffset {
    const answer = { partition: index, errorCode: ErrorCode.NONE, leaderEpoch: UNDEFINED_EPOCH, endOffset: BigInt(UNDEFINED_EPOCH_OFFSET) };
    try {
      const partition = replicaManager.getPartition(topic, index);
      if (!partition) {
        const exists = controller.topic(topic)?.partitions.some((p) => p.partition === index) ?? false;
        throw new KafkaError(
          exists ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `This server hosts no replica of ${topic}-${index}.`,
        );
      }
      replicaManager.checkLeaderEpoch(partition, currentLeaderEpoch);
      if (!partition.isLeader) {
        throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This server is not the leader of ${topic}-${index}.`);
      }
      const found = partition.log.endOffsetForEpoch(leaderEpoch);
      return { ...answer, leaderEpoch: found.epoch, endOffset: BigInt(found.endOffset) };
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      return { ...answer, errorCode: err.code };
    }
  }

  return defineHandler({
    apiKey: ApiKey.OffsetForLeaderEpoch,
    minVersion: 0,
    maxVersion: 4,
    handle(request) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => endOffset(t.topic, p.partition, p.currentLeaderEpoch ?? -1, p.leaderEpoch)),
        })),
      };
    },
  });
}
