/**
 * Committed offsets of consumer groups:
 *   OffsetCommit v0-9 — metadata strings (OFFSET_METADATA_TOO_LARGE above
 *     offset.metadata.max.bytes), generation/member checks for group members
 *     (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, and
 *     REBALANCE_IN_PROGRESS while the group completes a rebalance), commits
 *     from consumers that assign partitions themselves (generation -1, empty
 *     member id) while the group is empty or unknown, v1's explicit commit
 *     timestamp and v2-v4's retention time (stored as an expire timestamp,
 *     as Kafka does), leader epochs from v6, group.instance.id from v7. v9
 *     answers GROUP_ID_NOT_FOUND where older versions get ILLEGAL_GENERATION
 *     (a member's commit to a group the coordinator does not know); v9's
 *     KIP-848 member epochs only apply to consumer-protocol groups, which
 *     Ganglion does not have, so classic groups behave as in v8.
 *   OffsetFetch v0-9 — v0 is served like v1 (there is no ZooKeeper storage);
 *     null topics (v2+) fetch every offset of the group; require_stable (v7+)
 *     answers UNSTABLE_OFFSET_COMMIT for a partition whose commit is still
 *     being written; several groups per request from v8; v9's member id and
 *     epoch are ignored for classic groups, as Kafka does.
 *   OffsetDelete v0 — refused for partitions of topics the group consumes
 *     (GROUP_SUBSCRIBED_TO_TOPIC) and for non-empty groups that are not
 *     consumer groups (NON_EMPTY_GROUP).
 * Partitions of unknown topics, or beyond a topic's partition count, get
 * UNKNOWN_TOPIC_OR_PARTITION on commit and delete; a fetch of them answers
 * offset -1 like any partition without a commit.
 *
 * An offset is acknowledged once its record is in __consumer_offsets.
 */
import { groupCoordinatorFor } from './groups.js';
import type { FetchedOffset, OffsetCommitEntry, TopicPartitionRef } from '../../coordinator/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { OffsetCommitResponse } from '../../protocol/messages/offset-commit.js';
import type { OffsetDeleteResponse } from '../../protocol/messages/offset-delete.js';
import type { OffsetFetchResponse, OffsetFetchResponseTopics } from '../../protocol/messages/offset-fetch.js';
import { defineHandler, type ApiHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

interface RequestedTopic {
  name: string;
  partitionIndexes: number[];
}

/** Groups fetched offsets by topic, topics in first-seen order. */
function byTopic(offsets: FetchedOffset[]): OffsetFetchResponseTopics[] {
  const topics = new Map<string, OffsetFetchResponseTopics>();
  for (const o of offsets) {
    let topic = topics.get(o.topic);
    if (!topic) topics.set(o.topic, (topic = { name: o.topic, partitions: [] }));
    topic.partitions.push({
      partitionIndex: o.partition,
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
      errorCode: o.errorCode,
    });
  }
  return [...topics.values()];
}

function refs(topics: RequestedTopic[] | null | undefined): TopicPartitionRef[] | null {
  if (topics === null || topics === undefined) return null;
  return topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
}

export function createOffsetHandlers(services: BrokerServices): ApiHandler<any>[] {
  const coordinator = groupCoordinatorFor(services);
  const { controller } = services;

  const knownPartition = (topic: string, partition: number): boolean => {
    const count = controller.topic(topic)?.partitions.length;
    return count !== undefined && partition >= 0 && partition < count;
  };

  const offsetCommit = defineHandler({
    apiKey: ApiKey.OffsetCommit,
    minVersion: 0,
    maxVersion: 9,
    async handle(request, context): Promise<OffsetCommitResponse> {
      const v = context.apiVersion;
      const now = Date.now();
      const retentionMs = v >= 2 && v <= 4 ? Number(request.retentionTimeMs ?? -1n) : -1;
      const entries: OffsetCommitEntry[] = [];
      /** Per request partition: an error decided here, or the index of its entry. */
      const slots: ({ error: number } | { entry: number })[][] = request.topics.map((t) =>
        t.partitions.map((p) => {
          if (!knownPartition(t.name, p.partitionIndex)) return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          entries.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: Number(p.committedOffset),
            leaderEpoch: v >= 6 ? (p.committedLeaderEpoch ?? -1) : -1,
            metadata: p.committedMetadata,
            commitTimestamp: v === 1 ? Number(p.commitTimestamp ?? -1n) : -1,
            expireTimestamp: retentionMs >= 0 ? now + retentionMs : null,
          });
          return { entry: entries.length - 1 };
        }),
      );
      const codes =
        entries.length === 0
          ? []
          : await coordinator.commitOffsets({
              groupId: request.groupId,
              memberId: v >= 1 ? (request.memberId ?? '') : '',
              groupInstanceId: v >= 7 ? (request.groupInstanceId ?? null) : null,
              generationId: v >= 1 ? (request.generationIdOrMemberEpoch ?? -1) : -1,
              apiVersion: v,
              entries,
            });
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t, ti) => ({
          name: t.name,
          partitions: t.partitions.map((p, pi) => {
            const slot = slots[ti]![pi]!;
            return { partitionIndex: p.partitionIndex, errorCode: 'error' in slot ? slot.error : codes[slot.entry]! };
          }),
        })),
      };
    },
  });

  const offsetFetch = defineHandler({
    apiKey: ApiKey.OffsetFetch,
    minVersion: 0,
    maxVersion: 9,
    async handle(request, context): Promise<OffsetFetchResponse> {
      const v = context.apiVersion;
      const requireStable = v >= 7 && (request.requireStable ?? false);
      if (v >= 8) {
        const groups = [];
        for (const g of request.groups ?? []) {
          const result = await coordinator.fetchOffsets(g.groupId, refs(g.topics), requireStable);
          groups.push({ groupId: g.groupId, topics: byTopic(result.offsets), errorCode: result.errorCode });
        }
        return { throttleTimeMs: 0, groups };
      }
      const wanted = v >= 2 ? refs(request.topics) : (refs(request.topics) ?? []);
      const result = await coordinator.fetchOffsets(request.groupId ?? '', wanted, requireStable);
      if (result.errorCode !== ErrorCode.NONE) {
        if (v >= 2) return { throttleTimeMs: 0, topics: [], errorCode: result.errorCode };
        // v0-1 have no top-level error: every requested partition carries it.
        const failed = (wanted ?? []).map((p) => ({ ...p, offset: -1, leaderEpoch: -1, metadata: '', errorCode: result.errorCode }));
        return { throttleTimeMs: 0, topics: byTopic(failed) };
      }
      return { throttleTimeMs: 0, topics: byTopic(result.offsets), errorCode: ErrorCode.NONE };
    },
  });

  const offsetDelete = defineHandler({
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    async handle(request): Promise<OffsetDeleteResponse> {
      const known: TopicPartitionRef[] = [];
      const slots = request.topics.map((t) =>
        t.partitions.map((p) => {
          if (!knownPartition(t.name, p.partitionIndex)) return -1;
          known.push({ topic: t.name, partition: p.partitionIndex });
          return known.length - 1;
        }),
      );
      const result = await coordinator.deleteOffsets(request.groupId, known);
      if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
      return {
        errorCode: ErrorCode.NONE,
        throttleTimeMs: 0,
        topics: request.topics.map((t, ti) => ({
          name: t.name,
          partitions: t.partitions.map((p, pi) => {
            const slot = slots[ti]![pi]!;
            return { partitionIndex: p.partitionIndex, errorCode: slot < 0 ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : result.partitions[slot]! };
          }),
        })),
      };
    },
  });

  return [offsetCommit, offsetFetch, offsetDelete];
}
