/**
 * The APIs only the active controller serves (cluster mode): ControlledShutdown
 * and AlterPartition from brokers; ElectLeaders, AlterPartitionReassignments
 * and ListPartitionReassignments from admin clients, which find the
 * controller through Metadata. Any other broker answers NOT_CONTROLLER, and
 * the caller retries against the controller it learns next.
 */
import { groupBy } from '../../client/util.js';
import type { AlterIsrItem, KafkaController } from '../../controller/zk/kafka-controller.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import { defineHandler, type ApiHandler } from '../handler-registry.js';

/** The error code of a failure, or rethrows what is not Kafka's. */
function codeOf(error: unknown): { code: number; message: string } {
  if (error instanceof KafkaError) return { code: error.code, message: error.detail ?? error.message };
  throw error;
}

export function createControllerApiHandlers(controller: KafkaController): ApiHandler<any>[] {
  const controlledShutdown = defineHandler({
    apiKey: ApiKey.ControlledShutdown,
    minVersion: 1,
    maxVersion: 3,
    async handle(request) {
      try {
        const remaining = await controller.controlledShutdown(request.brokerId);
        return {
          errorCode: ErrorCode.NONE,
          remainingPartitions: remaining.map((r) => ({ topicName: r.topic, partitionIndex: r.partition })),
        };
      } catch (error) {
        return { errorCode: codeOf(error).code, remainingPartitions: [] };
      }
    },
  });

  const alterPartition = defineHandler({
    apiKey: ApiKey.AlterPartition,
    minVersion: 0,
    maxVersion: 3,
    async handle(request, context) {
      const useIds = context.apiVersion >= 2;
      const items: AlterIsrItem[] = request.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: useIds ? null : (t.topicName ?? ''),
          topicId: useIds ? (t.topicId ?? null) : null,
          partition: p.partitionIndex,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          // v3+ carries the new ISR with broker epochs (KIP-903) instead of plain ids.
          newIsr: context.apiVersion >= 3 ? (p.newIsrWithEpochs ?? []).map((b) => b.brokerId) : (p.newIsr ?? []),
        })),
      );
      try {
        const results = await controller.alterPartition(request.brokerId, items);
        let i = 0;
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          topics: request.topics.map((t) => ({
            topicName: t.topicName,
            topicId: t.topicId,
            partitions: t.partitions.map((p) => {
              const r = results[i++]!;
              return {
                partitionIndex: p.partitionIndex,
                errorCode: r.errorCode,
                leaderId: r.leader,
                leaderEpoch: r.leaderEpoch,
                isr: r.isr,
                leaderRecoveryState: 0,
                partitionEpoch: r.partitionEpoch,
              };
            }),
          })),
        };
      } catch (error) {
        return { throttleTimeMs: 0, errorCode: codeOf(error).code, topics: [] };
      }
    },
  });

  const electLeaders = defineHandler({
    apiKey: ApiKey.ElectLeaders,
    minVersion: 0,
    maxVersion: 2,
    async handle(request) {
      const type = (request.electionType ?? 0) === 1 ? 'UNCLEAN' : 'PREFERRED';
      const refs = request.topicPartitions === null ? null : request.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
      try {
        const results = await controller.electLeaders(type, refs);
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          replicaElectionResults: [...groupBy(results, (r) => r.topic)].map(([topic, list]) => ({
            topic,
            partitionResult: list.map((r) => ({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })),
          })),
        };
      } catch (error) {
        const { code } = codeOf(error);
        // v0 has no top-level error: every requested partition carries it.
        return {
          throttleTimeMs: 0,
          errorCode: code,
          replicaElectionResults: (request.topicPartitions ?? []).map((t) => ({
            topic: t.topic,
            partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode: code, errorMessage: null })),
          })),
        };
      }
    },
  });

  const alterReassignments = defineHandler({
    apiKey: ApiKey.AlterPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    async handle(request) {
      const entries = request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })));
      try {
        const results = await controller.alterReassignments(entries);
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          responses: [...groupBy(results, (r) => r.topic)].map(([name, list]) => ({
            name,
            partitions: list.map((r) => ({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })),
          })),
        };
      } catch (error) {
        const { code, message } = codeOf(error);
        return { throttleTimeMs: 0, errorCode: code, errorMessage: message, responses: [] };
      }
    },
  });

  const listReassignments = defineHandler({
    apiKey: ApiKey.ListPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    async handle(request) {
      const refs = request.topics === null ? null : request.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
      try {
        const ongoing = await controller.listReassignments(refs);
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          topics: [...groupBy(ongoing, (r) => r.topic)].map(([name, list]) => ({
            name,
            partitions: list.map((r) => ({ partitionIndex: r.partition, replicas: r.replicas, addingReplicas: r.adding, removingReplicas: r.removing })),
          })),
        };
      } catch (error) {
        const { code, message } = codeOf(error);
        return { throttleTimeMs: 0, errorCode: code, errorMessage: message, topics: [] };
      }
    },
  });

  return [controlledShutdown, alterPartition, electLeaders, alterReassignments, listReassignments];
}
