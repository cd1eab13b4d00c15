/**
 * Metadata v0-12: brokers (the endpoints advertised for the listener the
 * client used), cluster and controller ids, and topics with topic ids,
 * partitions, leaders, leader epochs, replicas and ISR.
 *
 * Unknown topics are created when the request allows it (v4+) and
 * auto.create.topics.enable is on; invalid names get INVALID_TOPIC_EXCEPTION.
 * Lookups by topic id (v12) answer UNKNOWN_TOPIC_ID for unknown ids.
 * Authorized operations are reported as "everything" since Ganglion has no
 * ACLs yet.
 */
import { endpointFor } from '../../controller/endpoints.js';
import { invalidTopicNameReason } from '../../controller/topic-name.js';
import type { TopicRecord } from '../../controller/types.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { MetadataResponse, MetadataResponseTopic } from '../../protocol/messages/metadata.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

/** Kafka's "not requested" value for authorized-operation bit sets. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (no ACLs: all allowed). */
const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export function createMetadataHandler(services: BrokerServices) {
  const { controller, config } = services;

  function describeTopic(topic: TopicRecord, includeOperations: boolean): MetadataResponseTopic {
    return {
      errorCode: ErrorCode.NONE,
      name: topic.name,
      topicId: topic.topicId,
      isInternal: topic.internal,
      partitions: topic.partitions.map((p) => ({
        errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex: p.partition,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: p.offlineReplicas ?? [],
      })),
      topicAuthorizedOperations: includeOperations ? TOPIC_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
    };
  }

  function failed(name: string | null, errorCode: number, topicId = ZERO_UUID): MetadataResponseTopic {
    return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
  }

  async function topicByName(name: string, allowAutoCreate: boolean, includeOperations: boolean): Promise<MetadataResponseTopic> {
    const existing = controller.topic(name);
    if (existing) return describeTopic(existing, includeOperations);
    if (invalidTopicNameReason(name)) return failed(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
    if (!allowAutoCreate || !config.get('auto.create.topics.enable')) return failed(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    try {
      const created = await controller.createTopic({ name, numPartitions: -1, replicationFactor: -1, configs: {} }, false);
      return describeTopic(created, includeOperations);
    } catch (err) {
      const raced = controller.topic(name);
      if (raced) return describeTopic(raced, includeOperations);
      if (err instanceof KafkaError) {
        services.logger.warn('auto topic creation failed', { topic: name, error: err.message });
        return failed(name, err.code);
      }
      throw err;
    }
  }

  return defineHandler({
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    async handle(request, context) {
      const version = context.apiVersion;
      const includeOperations = request.includeTopicAuthorizedOperations ?? false;
      const allowAutoCreate = version < 4 ? true : (request.allowAutoTopicCreation ?? true);
      const wantsAll = request.topics === null || (version === 0 && request.topics.length === 0);
      let topics: MetadataResponseTopic[];
      if (wantsAll) {
        topics = controller.topics().map((t) => describeTopic(t, includeOperations));
      } else {
        topics = [];
        for (const wanted of request.topics ?? []) {
          if (wanted.name !== null) {
            topics.push(await topicByName(wanted.name, allowAutoCreate, includeOperations));
          } else {
            const topic = wanted.topicId ? controller.topicById(wanted.topicId) : undefined;
            topics.push(topic ? describeTopic(topic, includeOperations) : failed(null, ErrorCode.UNKNOWN_TOPIC_ID, wanted.topicId));
          }
        }
      }
      const listener = context.connection.listenerName;
      const response: MetadataResponse = {
        throttleTimeMs: 0,
        brokers: controller.brokers().flatMap((broker) => {
          const endpoint = endpointFor(broker, listener);
          return endpoint ? [{ nodeId: broker.brokerId, host: endpoint.host, port: endpoint.port, rack: broker.rack }] : [];
        }),
        clusterId: controller.clusterId,
        controllerId: controller.controllerId,
        topics,
        clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
      };
      return response;
    },
  });
}
