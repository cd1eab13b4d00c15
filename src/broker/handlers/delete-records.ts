/**
 * DeleteRecords v0-2: moves the log start offset of each partition forward
 * ("delete everything before offset N"; -1 means the high watermark) and
 * answers the new low watermark. Whole segments below it are removed; records
 * in the remaining first segment stay on disk but can no longer be read.
 *
 * Errors per partition, as Kafka: UNKNOWN_TOPIC_OR_PARTITION when this broker
 * does not host the partition, NOT_LEADER_OR_FOLLOWER when it is not the
 * leader, OFFSET_OUT_OF_RANGE for an offset past the high watermark (or below
 * -1), POLICY_VIOLATION when the topic's cleanup.policy does not include
 * "delete", INVALID_TOPIC_EXCEPTION for the internal topics.
 *
 * Deliberately not done: waiting for followers' low watermarks within
 * timeout_ms (the answer is the leader's low watermark once it has moved,
 * which on a single node is the whole story), ACL checks, quotas (throttle
 * time is always 0).
 */
import { INTERNAL_TOPICS } from '../../controller/topic-name.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type {
  DeleteRecordsResponseDeleteRecordsPartitionResult,
  DeleteRecordsResponseDeleteRecordsTopicResult,
} from '../../protocol/messages/delete-records.js';
import { LogClosedError, OffsetOutOfRangeError } from '../../storage/index.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

/** DeleteRecords' "up to the high watermark" offset. */
const HIGH_WATERMARK = -1n;

export function createDeleteRecordsHandler(services: BrokerServices) {
  const { replicaManager, logger } = services;

  async function deleteOne(topic: string, index: number, offset: bigint): Promise<number> {
    if (INTERNAL_TOPICS.has(topic)) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot delete records of internal topic ${topic}-${index}.`);
    }
    const partition = replicaManager.leaderPartition(topic, index);
    if (!partition.log.config.cleanupPolicy.includes('delete')) {
      throw new KafkaError(
        ErrorCode.POLICY_VIOLATION,
        `Records of partition ${topic}-${index} can not be deleted due to the configured policy (cleanup.policy=${partition.log.config.cleanupPolicy.join(',')}).`,
      );
    }
    if (offset < HIGH_WATERMARK || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records of ${topic}-${index} before offset ${offset}: it must be -1 (meaning the high watermark) or an offset from 0 up to the high watermark ${partition.highWatermark}.`,
      );
    }
    return replicaManager.deleteRecords(topic, index, Number(offset));
  }

  async function partitionResult(topic: string, index: number, offset: bigint): Promise<DeleteRecordsResponseDeleteRecordsPartitionResult> {
    try {
      const lowWatermark = await deleteOne(topic, index, offset);
      logger.info('deleted records', { topic, partition: index, logStartOffset: lowWatermark });
      return { partitionIndex: index, lowWatermark: BigInt(lowWatermark), errorCode: ErrorCode.NONE };
    } catch (err) {
      let code: number;
      if (err instanceof KafkaError) code = err.code;
      else if (err instanceof OffsetOutOfRangeError) code = ErrorCode.OFFSET_OUT_OF_RANGE;
      // The log closed under us: the partition was deleted or moved while we worked.
      else if (err instanceof LogClosedError) code = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      else {
        logger.error('delete records failed', { topic, partition: index, err: String(err) });
        code = ErrorCode.UNKNOWN_SERVER_ERROR;
      }
      if (code !== ErrorCode.UNKNOWN_SERVER_ERROR) {
        logger.debug('delete records refused', { topic, partition: index, error: (err as Error).message });
      }
      return { partitionIndex: index, lowWatermark: -1n, errorCode: code };
    }
  }

  return defineHandler({
    apiKey: ApiKey.DeleteRecords,
    minVersion: 0,
    maxVersion: 2,
    async handle(request) {
      const topics = await Promise.all(
        request.topics.map(
          async (t): Promise<DeleteRecordsResponseDeleteRecordsTopicResult> => ({
            name: t.name,
            partitions: await Promise.all(t.partitions.map((p) => partitionResult(t.name, p.partitionIndex, p.offset))),
          }),
        ),
      );
      return { throttleTimeMs: 0, topics };
    },
  });
}
