/**
 * Topic administration: CreateTopics v0-7, DeleteTopics v0-6 and
 * CreatePartitions v0-3. The controller does the work and owns the rules
 * (names, replica placement, config validation); this file turns requests
 * into controller calls and answers with one result per topic, carrying
 * Kafka's error code and a message that says what to change.
 *
 * CreateTopics: validate_only, explicit replica assignments, topic configs,
 * -1 for the broker's num.partitions / default.replication.factor (KIP-464,
 * accepted at every version as Kafka does); v5+ answers with the partition
 * count, replication factor and every config of the (would-be) topic; v7
 * with the topic id. A topic listed twice gets INVALID_REQUEST.
 * DeleteTopics: by name (v0-5) and by name or topic id (v6, UNKNOWN_TOPIC_ID
 * for unknown ids); delete.topic.enable=false answers TOPIC_DELETION_DISABLED
 * (INVALID_REQUEST before v3, which predates that code).
 * CreatePartitions: new total count with optional explicit assignments and
 * validate_only.
 *
 * Deliberately not done: ACL checks (there is no authorizer yet), request
 * quotas (throttle time is always 0, THROTTLING_QUOTA_EXCEEDED never sent),
 * create.topic.policy / alter policies, and waiting for timeout_ms (the
 * embedded controller applies changes before answering, so there is nothing
 * to wait for). A validate_only CreateTopics answers topic id zero, since no
 * topic was created (Kafka returns an id that never comes to exist).
 */
import { describeTopicConfig } from '../../config/index.js';
import type { CreateTopicSpec, TopicRecord } from '../../controller/types.js';
import type { Logger } from '../../logging.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type {
  CreatePartitionsRequestCreatePartitionsTopic,
  CreatePartitionsResponseCreatePartitionsTopicResult,
} from '../../protocol/messages/create-partitions.js';
import type {
  CreateTopicsRequestCreatableTopic,
  CreateTopicsResponseCreatableTopicResult,
} from '../../protocol/messages/create-topics.js';
import type { DeleteTopicsResponseDeletableTopicResult } from '../../protocol/messages/delete-topics.js';
import { ZERO_UUID, type Uuid } from '../../protocol/primitives.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

interface Failure {
  code: number;
  message: string;
}

/** Kafka's error code and message for a failed operation; unexpected errors are logged and not leaked. */
function failureOf(err: unknown, logger: Logger, action: string, topic: string | null): Failure {
  if (err instanceof KafkaError) {
    return { code: err.code, message: err.detail };
  }
  logger.error(`${action} failed`, { topic, err: String(err) });
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: `Unexpected error while trying to ${action}; see the broker log.` };
}

/** Names listed more than once. */
function duplicates(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) twice.add(name);
    seen.add(name);
  }
  return twice;
}

// ---- CreateTopics ------------------------------------------------------

export function createCreateTopicsHandler(services: BrokerServices) {
  const { controller, config, logger } = services;

  function failed(name: string, version: number, failure: Failure): CreateTopicsResponseCreatableTopicResult {
    const result: CreateTopicsResponseCreatableTopicResult = {
      name,
      errorCode: failure.code,
      errorMessage: failure.message,
    };
    if (version >= 5) {
      result.numPartitions = -1;
      result.replicationFactor = -1;
      result.configs = [];
    }
    if (version >= 7) result.topicId = ZERO_UUID;
    return result;
  }

  function created(topic: TopicRecord, version: number, validateOnly: boolean): CreateTopicsResponseCreatableTopicResult {
    const result: CreateTopicsResponseCreatableTopicResult = { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null };
    if (version >= 5) {
      result.numPartitions = topic.partitions.length;
      result.replicationFactor = topic.partitions[0]?.replicas.length ?? -1;
      try {
        result.configs = describeTopicConfig(config, topic.configs).map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          configSource: e.source,
          isSensitive: e.sensitive,
        }));
      } catch (err) {
        logger.error('could not describe the configs of a new topic', { topic: topic.name, err: String(err) });
        result.configs = null;
        result.topicConfigErrorCode = ErrorCode.UNKNOWN_SERVER_ERROR;
      }
    }
    if (version >= 7) result.topicId = validateOnly ? ZERO_UUID : topic.topicId;
    return result;
  }

  async function createOne(
    topic: CreateTopicsRequestCreatableTopic,
    version: number,
    validateOnly: boolean,
  ): Promise<CreateTopicsResponseCreatableTopicResult> {
    const { name } = topic;
    const nullConfigs = topic.configs.filter((c) => c.value === null).map((c) => c.name);
    if (nullConfigs.length > 0) {
      return failed(name, version, {
        code: ErrorCode.INVALID_CONFIG,
        message: `Null value not supported for topic configs: ${nullConfigs.join(',')}`,
      });
    }
    const configs: Record<string, string> = {};
    for (const c of topic.configs) configs[c.name] = c.value!;
    const spec: CreateTopicSpec = {
      name,
      numPartitions: topic.numPartitions,
      replicationFactor: topic.replicationFactor,
      configs,
    };
    if (topic.assignments.length > 0) {
      const assignments = new Map<number, number[]>();
      for (const a of topic.assignments) {
        if (assignments.has(a.partitionIndex)) {
          return failed(name, version, {
            code: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            message: `Partition ${a.partitionIndex} is assigned more than once.`,
          });
        }
        assignments.set(a.partitionIndex, a.brokerIds);
      }
      spec.assignments = assignments;
    }
    try {
      const result = await controller.createTopic(spec, validateOnly);
      if (!validateOnly) logger.info('created topic', { topic: name, partitions: result.partitions.length });
      return created(result, version, validateOnly);
    } catch (err) {
      return failed(name, version, failureOf(err, logger, `create topic '${name}'`, name));
    }
  }

  return defineHandler({
    apiKey: ApiKey.CreateTopics,
    minVersion: 0,
    maxVersion: 7,
    async handle(request, context) {
      const version = context.apiVersion;
      const validateOnly = version >= 1 && (request.validateOnly ?? false);
      const twice = duplicates(request.topics.map((t) => t.name));
      const answered = new Set<string>();
      const topics: CreateTopicsResponseCreatableTopicResult[] = [];
      for (const topic of request.topics) {
        if (answered.has(topic.name)) continue;
        answered.add(topic.name);
        if (twice.has(topic.name)) {
          topics.push(
            failed(topic.name, version, {
              code: ErrorCode.INVALID_REQUEST,
              message: 'Found multiple entries for this topic in the request; list each topic once.',
            }),
          );
          continue;
        }
        topics.push(await createOne(topic, version, validateOnly));
      }
      return { throttleTimeMs: 0, topics };
    },
  });
}

// ---- DeleteTopics ------------------------------------------------------

export function createDeleteTopicsHandler(services: BrokerServices) {
  const { controller, config, logger } = services;

  return defineHandler({
    apiKey: ApiKey.DeleteTopics,
    minVersion: 0,
    maxVersion: 6,
    async handle(request, context) {
      const version = context.apiVersion;
      const entries: { name: string | null; topicId: Uuid }[] =
        version >= 6 ? (request.topics ?? []) : (request.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));

      const result = (name: string | null, topicId: Uuid, code: number, message: string | null) => {
        const r: DeleteTopicsResponseDeletableTopicResult = { name: version >= 6 ? name : (name ?? ''), errorCode: code };
        if (version >= 6) r.topicId = topicId;
        if (version >= 5) r.errorMessage = message;
        return r;
      };

      if (!config.get('delete.topic.enable')) {
        const code = version >= 3 ? ErrorCode.TOPIC_DELETION_DISABLED : ErrorCode.INVALID_REQUEST;
        const message = 'Topic deletion is disabled on this broker (delete.topic.enable=false).';
        return { throttleTimeMs: 0, responses: entries.map((e) => result(e.name, e.topicId, code, message)) };
      }

      const twiceByName = duplicates(entries.filter((e) => e.name !== null).map((e) => e.name!));
      const twiceById = duplicates(entries.filter((e) => e.name === null && e.topicId !== ZERO_UUID).map((e) => e.topicId));
      const responses: DeleteTopicsResponseDeletableTopicResult[] = [];
      const answered = new Set<string>();
      for (const entry of entries) {
        const { name, topicId } = entry;
        if (name === null && topicId === ZERO_UUID) {
          responses.push(result(null, topicId, ErrorCode.INVALID_REQUEST, 'Neither topic name nor topic id was specified.'));
          continue;
        }
        if (name !== null && topicId !== ZERO_UUID) {
          responses.push(
            result(name, topicId, ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.'),
          );
          continue;
        }
        const key = name ?? `id:${topicId}`;
        if (answered.has(key)) continue;
        answered.add(key);
        if (name !== null ? twiceByName.has(name) : twiceById.has(topicId)) {
          const what = name !== null ? 'topic name' : 'topic id';
          responses.push(result(name, topicId, ErrorCode.INVALID_REQUEST, `Duplicate ${what} in the request; list each topic once.`));
          continue;
        }
        const topic = name !== null ? controller.topic(name) : controller.topicById(topicId);
        if (!topic) {
          responses.push(
            name !== null
              ? result(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`)
              : result(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${topicId} does not exist.`),
          );
          continue;
        }
        try {
          await controller.deleteTopic(topic.name);
          logger.info('deleted topic', { topic: topic.name, topicId: topic.topicId });
          responses.push(result(topic.name, topic.topicId, ErrorCode.NONE, null));
        } catch (err) {
          const f = failureOf(err, logger, `delete topic '${topic.name}'`, topic.name);
          responses.push(result(topic.name, topic.topicId, f.code, f.message));
        }
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}

// ---- CreatePartitions --------------------------------------------------

export function createCreatePartitionsHandler(services: BrokerServices) {
  const { controller, logger } = services;

  async function growOne(
    topic: CreatePartitionsRequestCreatePartitionsTopic,
    validateOnly: boolean,
  ): Promise<CreatePartitionsResponseCreatePartitionsTopicResult> {
    const { name } = topic;
    if (!controller.topic(name)) {
      return { name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${name}' does not exist.` };
    }
    try {
      const assignments = topic.assignments === null ? null : topic.assignments.map((a) => a.brokerIds);
      const grown = await controller.createPartitions(name, topic.count, assignments, validateOnly);
      if (!validateOnly) logger.info('added partitions', { topic: name, partitions: grown.partitions.length });
      return { name, errorCode: ErrorCode.NONE, errorMessage: null };
    } catch (err) {
      const f = failureOf(err, logger, `add partitions to topic '${name}'`, name);
      return { name, errorCode: f.code, errorMessage: f.message };
    }
  }

  return defineHandler({
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    async handle(request) {
      const twice = duplicates(request.topics.map((t) => t.name));
      const answered = new Set<string>();
      const results: CreatePartitionsResponseCreatePartitionsTopicResult[] = [];
      for (const topic of request.topics) {
        if (answered.has(topic.name)) continue;
        answered.add(topic.name);
        if (twice.has(topic.name)) {
          results.push({
            name: topic.name,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: 'Duplicate topic in the request; list each topic once.',
          });
          continue;
        }
        results.push(await growOne(topic, request.validateOnly));
      }
      return { throttleTimeMs: 0, results };
    },
  });
}
