/**
 * Consumer group membership, Kafka's classic protocol:
 *   JoinGroup v0-9 (MEMBER_ID_REQUIRED two-step join from v4, static
 *     membership from v5, KIP-814 skip_assignment for a rejoining static
 *     leader from v9), SyncGroup v0-5 (protocol type/name checks from v5),
 *   Heartbeat v0-4, LeaveGroup v0-5 (batched members from v3),
 *   DescribeGroups v0-5, ListGroups v0-5 (state filter v4, type filter v5:
 *     every group here is "classic"), DeleteGroups v0-2.
 * The state machine is src/coordinator; this file maps wire versions to it.
 *
 * It also holds the one place where the broker is adapted to the
 * coordinator (`groupCoordinatorFor`): the coordinator gets the logs of the
 * __consumer_offsets partitions this broker leads, and the topic is created
 * on first use with offsets.topic.num.partitions partitions,
 * cleanup.policy=compact, segment.bytes=offsets.topic.segment.bytes and
 * compression.type=producer.
 *
 * Deliberate difference from Kafka: its replication factor is
 * min(offsets.topic.replication.factor, live brokers), with a warning when
 * that is less than asked. Kafka refuses to create the topic instead
 * (COORDINATOR_NOT_AVAILABLE until enough brokers are up), which on a single
 * node with the default factor of 3 would leave groups unusable.
 *
 * JoinGroup and SyncGroup wait in the broker's purgatory, so a shutting
 * down broker answers them (NOT_COORDINATOR) instead of holding them to
 * their rebalance timeout.
 *
 * Not done: ACLs (authorized operations report everything), quotas
 * (throttle time 0), the KIP-848 consumer protocol (ConsumerGroupHeartbeat).
 */
import type { Logger } from '../../logging.js';
import {
  GroupCoordinator,
  joinError,
  syncError,
  type CoordinatorHost,
  type GroupCoordinatorConfig,
} from '../../coordinator/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { DescribeGroupsResponseDescribedGroup } from '../../protocol/messages/describe-groups.js';
import type { JoinGroupResponse } from '../../protocol/messages/join-group.js';
import type { LeaveGroupResponse } from '../../protocol/messages/leave-group.js';
import type { SyncGroupResponse } from '../../protocol/messages/sync-group.js';
import { defineHandler, type ApiHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';
import { ensureInternalTopic, internalTopicLogs } from './internal-topic.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** READ, DELETE, DESCRIBE (no ACLs: all allowed). */
const GROUP_OPERATIONS = [3, 6, 8].reduce((bits, op) => bits | (1 << op), 0);
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** Longest a JoinGroup/SyncGroup may be parked (the coordinator's own timers end it far sooner). */
const MAX_PARK_MS = 0x7fffffff;

// ---- the broker as the coordinator's host -----------------------------------

const coordinators = new WeakMap<BrokerServices, GroupCoordinator>();

/** The broker's group coordinator, created (and its partitions loaded) on first use. */
export function groupCoordinatorFor(services: BrokerServices): GroupCoordinator {
  let coordinator = coordinators.get(services);
  if (!coordinator) {
    coordinator = new GroupCoordinator({
      host: brokerHost(services),
      config: coordinatorConfig(services),
      logger: services.logger.child({ component: 'group-coordinator' }),
    });
    coordinators.set(services, coordinator);
    coordinator.startup();
    // Coordination follows partition leadership (LeaderAndIsr in a cluster): load on election, unload on resignation.
    const owner = coordinator;
    services.replicaManager.onLeadershipChange((change) => {
      if (change.topic !== OFFSETS_TOPIC) return;
      if (change.isLeader) void owner.onBecomeLeader(change.partition);
      else owner.onResign(change.partition);
    });
  }
  return coordinator;
}

function coordinatorConfig({ config }: BrokerServices): GroupCoordinatorConfig {
  return {
    offsetsTopicNumPartitions: config.get('offsets.topic.num.partitions'),
    initialRebalanceDelayMs: config.get('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: config.get('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: config.get('group.max.session.timeout.ms'),
    maxGroupSize: config.get('group.max.size'),
    offsetsRetentionMs: config.offsetsRetentionMs,
    offsetsRetentionCheckIntervalMs: config.get('offsets.retention.check.interval.ms'),
    maxMetadataSize: config.get('offset.metadata.max.bytes'),
    loadBufferSize: config.get('offsets.load.buffer.size'),
    compressionCodec: config.get('offsets.topic.compression.codec'),
  };
}

function brokerHost(services: BrokerServices): CoordinatorHost {
  const { controller, config } = services;
  return {
    offsetsTopicPartitionCount: () => controller.topic(OFFSETS_TOPIC)?.partitions.length ?? null,
    ensureOffsetsTopic: () =>
      ensureInternalTopic(services, {
        name: OFFSETS_TOPIC,
        numPartitions: config.get('offsets.topic.num.partitions'),
        replicationFactor: config.get('offsets.topic.replication.factor'),
        configs: () => ({
          'cleanup.policy': 'compact',
          'segment.bytes': String(config.get('offsets.topic.segment.bytes')),
          'compression.type': 'producer',
        }),
      }),
    // In a cluster an append is acknowledged once the ISR has it (offsets.commit.timeout.ms at most).
    offsetsLog: internalTopicLogs(services, OFFSETS_TOPIC, config.get('offsets.commit.timeout.ms')),
    topicPartitionCount: (topic) => controller.topic(topic)?.partitions.length ?? null,
  };
}

let parkSequence = 0;

/**
 * Waits for a parked group operation in the purgatory: it completes when
 * the coordinator answers, or with `onShutdown` when the broker closes its
 * purgatory (the coordinator then stops too).
 */
export async function parked<T>(services: BrokerServices, work: Promise<T>, onShutdown: T): Promise<T> {
  const purgatory = services.replicaManager.purgatory;
  const key = `group-coordinator/${++parkSequence}`;
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  void work.then(
    (value) => {
      outcome = { ok: true, value };
      purgatory.notify(key);
    },
    (error: unknown) => {
      outcome = { ok: false, error };
      purgatory.notify(key);
    },
  );
  await purgatory.wait([key], MAX_PARK_MS, () => outcome !== null);
  const done = outcome as { ok: true; value: T } | { ok: false; error: unknown } | null;
  if (done === null) {
    groupCoordinatorFor(services).close();
    return onShutdown;
  }
  if (!done.ok) throw done.error;
  return done.value;
}

// ---- handlers -----------------------------------------------------------------

export function createGroupHandlers(services: BrokerServices): ApiHandler<any>[] {
  const coordinator = groupCoordinatorFor(services);
  const logger: Logger = services.logger;

  const joinGroup = defineHandler({
    apiKey: ApiKey.JoinGroup,
    minVersion: 0,
    maxVersion: 9,
    async handle(request, context): Promise<JoinGroupResponse> {
      const v = context.apiVersion;
      const result = await parked(
        services,
        coordinator.joinGroup({
          groupId: request.groupId,
          memberId: request.memberId,
          groupInstanceId: v >= 5 ? (request.groupInstanceId ?? null) : null,
          requireKnownMemberId: v >= 4 && (v < 5 || (request.groupInstanceId ?? null) === null),
          supportSkippingAssignment: v >= 9,
          clientId: context.clientId ?? '',
          clientHost: `/${context.connection.remoteAddress}`,
          rebalanceTimeoutMs: v >= 1 && (request.rebalanceTimeoutMs ?? -1) >= 0 ? request.rebalanceTimeoutMs! : request.sessionTimeoutMs,
          sessionTimeoutMs: request.sessionTimeoutMs,
          protocolType: request.protocolType,
          // The request may be a view of the socket's read buffer: keep copies.
          protocols: request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
          reason: v >= 8 ? (request.reason ?? null) : null,
        }),
        joinError(request.memberId, ErrorCode.NOT_COORDINATOR),
      );
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        generationId: result.generationId,
        protocolType: result.protocolType,
        protocolName: v >= 7 ? result.protocolName : (result.protocolName ?? ''),
        leader: result.leaderId,
        skipAssignment: result.skipAssignment,
        memberId: result.memberId,
        members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
      };
    },
  });

  const syncGroup = defineHandler({
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request, context): Promise<SyncGroupResponse> {
      const v = context.apiVersion;
      const respond = (r: { errorCode: number; protocolType: string | null; protocolName: string | null; assignment: Buffer }) => ({
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        protocolType: r.protocolType,
        protocolName: r.protocolName,
        assignment: r.assignment,
      });
      // From v5 the client must say which protocol type and name it synced for (KIP-559).
      if (v >= 5 && ((request.protocolType ?? null) === null || (request.protocolName ?? null) === null)) {
        return respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      }
      const assignments = new Map<string, Buffer>();
      for (const a of request.assignments) assignments.set(a.memberId, Buffer.from(a.assignment));
      const result = await parked(
        services,
        coordinator.syncGroup({
          groupId: request.groupId,
          generationId: request.generationId,
          memberId: request.memberId,
          groupInstanceId: v >= 3 ? (request.groupInstanceId ?? null) : null,
          protocolType: v >= 5 ? (request.protocolType ?? null) : null,
          protocolName: v >= 5 ? (request.protocolName ?? null) : null,
          assignments,
        }),
        syncError(ErrorCode.NOT_COORDINATOR),
      );
      return respond(result);
    },
  });

  const heartbeat = defineHandler({
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      const errorCode = await coordinator.heartbeat({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: context.apiVersion >= 3 ? (request.groupInstanceId ?? null) : null,
      });
      return { throttleTimeMs: 0, errorCode };
    },
  });

  const leaveGroup = defineHandler({
    apiKey: ApiKey.LeaveGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request, context): Promise<LeaveGroupResponse> {
      const v = context.apiVersion;
      const leaving =
        v >= 3
          ? (request.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, reason: v >= 5 ? (m.reason ?? null) : null }))
          : [{ memberId: request.memberId ?? '', groupInstanceId: null }];
      const result = await coordinator.leaveGroup(request.groupId, leaving);
      if (v < 3) {
        // One member, no per-member answers: its error is the response's.
        const memberError = result.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
        return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError };
      }
      return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
    },
  });

  const describeGroups = defineHandler({
    apiKey: ApiKey.DescribeGroups,
    minVersion: 0,
    maxVersion: 5,
    async handle(request, context) {
      const v = context.apiVersion;
      const operations = v >= 3 && request.includeAuthorizedOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
      const groups: DescribeGroupsResponseDescribedGroup[] = [];
      for (const groupId of request.groups) {
        const d = await coordinator.describeGroup(groupId);
        groups.push({
          errorCode: d.errorCode,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocol,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: operations,
        });
      }
      return { throttleTimeMs: 0, groups };
    },
  });

  const listGroups = defineHandler({
    apiKey: ApiKey.ListGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(request, context) {
      const v = context.apiVersion;
      const { errorCode, groups } = coordinator.listGroups(v >= 4 ? (request.statesFilter ?? []) : [], v >= 5 ? (request.typesFilter ?? []) : []);
      return {
        throttleTimeMs: 0,
        errorCode,
        groups: groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: 'classic' })),
      };
    },
  });

  const deleteGroups = defineHandler({
    apiKey: ApiKey.DeleteGroups,
    minVersion: 0,
    maxVersion: 2,
    async handle(request) {
      const unique = [...new Set(request.groupsNames)];
      const results = await coordinator.deleteGroups(unique);
      logger.debug('DeleteGroups', { groups: unique.length });
      return {
        throttleTimeMs: 0,
        results: unique.map((groupId) => ({ groupId, errorCode: results.get(groupId) ?? ErrorCode.UNKNOWN_SERVER_ERROR })),
      };
    },
  });

  return [joinGroup, syncGroup, heartbeat, leaveGroup, describeGroups, listGroups, deleteGroups];
}
