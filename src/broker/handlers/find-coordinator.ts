/**
 * FindCoordinator v0-6: where a group's (or transactional id's, or share
 * group's) coordinator lives. v0-3 ask for one key; v4+ batch them in
 * coordinator_keys and get one answer per key (KIP-699).
 *
 * Groups (key type 0): the coordinator is the leader of partition
 * abs(javaHashCode(group)) % partitions of __consumer_offsets (Kafka's
 * Utils.abs, so Integer.MIN_VALUE maps to 0), answered with the endpoint of
 * the listener the client came in on. __consumer_offsets is created on the
 * first lookup (see groups.ts); unlike Kafka, which answers
 * COORDINATOR_NOT_AVAILABLE while the topic is being created, the lookup
 * waits for it, so the client's first lookup already succeeds. A partition
 * without a leader answers COORDINATOR_NOT_AVAILABLE.
 *
 * Transactions (1) answer COORDINATOR_NOT_AVAILABLE: there is no
 * transaction coordinator yet; neither is there a share group one (2).
 *
 * The lookup is an argument of the factory (`createGroupCoordinatorLookup`
 * is the broker's); without one every key answers COORDINATOR_NOT_AVAILABLE.
 *
 * As Kafka: an unknown key type answers INVALID_REQUEST for every key; the
 * share key type (2) is only valid from v6.
 *
 * Deliberately not done: ACL checks, quotas (throttle time is always 0).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { FindCoordinatorResponse, FindCoordinatorResponseCoordinator } from '../../protocol/messages/find-coordinator.js';
import { endpointFor } from '../../controller/endpoints.js';
import { defineHandler, type RequestContext } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';
import { OFFSETS_TOPIC, groupCoordinatorFor } from './groups.js';

/** Kafka's FindCoordinator key types. */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;

export interface CoordinatorNode {
  nodeId: number;
  host: string;
  port: number;
}

/**
 * Finds the coordinator for a key, or throws KafkaError (e.g.
 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS) saying why not.
 */
export type CoordinatorLookup = (
  keyType: number,
  key: string,
  context?: RequestContext,
) => CoordinatorNode | Promise<CoordinatorNode>;

const NO_NODE: CoordinatorNode = { nodeId: -1, host: '', port: -1 };

/** The answer until coordinators exist: not available, with the reason. */
export const noCoordinators: CoordinatorLookup = (keyType) => {
  const what =
    keyType === CoordinatorKeyType.TRANSACTION
      ? 'The transaction coordinator is not available: Ganglion does not support transactions yet.'
      : keyType === CoordinatorKeyType.SHARE
        ? 'The share group coordinator is not available: Ganglion does not support share groups yet.'
        : 'The group coordinator is not available: Ganglion does not run consumer groups yet.';
  throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, what);
};

interface Answer extends CoordinatorNode {
  errorCode: number;
  errorMessage: string | null;
}

export function createFindCoordinatorHandler(services: BrokerServices, lookup: CoordinatorLookup = noCoordinators) {
  const { logger } = services;

  async function answer(keyType: number, key: string, context: RequestContext): Promise<Answer> {
    const version = context.apiVersion;
    if (keyType !== CoordinatorKeyType.GROUP && keyType !== CoordinatorKeyType.TRANSACTION && keyType !== CoordinatorKeyType.SHARE) {
      return { ...NO_NODE, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown coordinator type received: ${keyType}` };
    }
    if (keyType === CoordinatorKeyType.SHARE && version < 6) {
      return {
        ...NO_NODE,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Share group coordinators can only be looked up with FindCoordinator v6 or later (got v${version}).`,
      };
    }
    try {
      return { ...(await lookup(keyType, key, context)), errorCode: ErrorCode.NONE, errorMessage: null };
    } catch (err) {
      if (err instanceof KafkaError) {
        return { ...NO_NODE, errorCode: err.code, errorMessage: err.detail };
      }
      logger.error('coordinator lookup failed', { keyType, key, err: String(err) });
      return { ...NO_NODE, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'Unexpected error while looking up the coordinator; see the broker log.' };
    }
  }

  return defineHandler({
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 6,
    async handle(request, context): Promise<FindCoordinatorResponse> {
      const version = context.apiVersion;
      const keyType = version >= 1 ? (request.keyType ?? CoordinatorKeyType.GROUP) : CoordinatorKeyType.GROUP;
      if (version >= 4) {
        const coordinators: FindCoordinatorResponseCoordinator[] = [];
        for (const key of request.coordinatorKeys ?? []) {
          const a = await answer(keyType, key, context);
          coordinators.push({ key, nodeId: a.nodeId, host: a.host, port: a.port, errorCode: a.errorCode, errorMessage: a.errorMessage });
        }
        return { throttleTimeMs: 0, coordinators };
      }
      const a = await answer(keyType, request.key ?? '', context);
      const response: FindCoordinatorResponse = { errorCode: a.errorCode, nodeId: a.nodeId, host: a.host, port: a.port };
      if (version >= 1) {
        response.throttleTimeMs = 0;
        response.errorMessage = a.errorMessage;
      }
      return response;
    },
  });
}

/**
 * The broker's lookup: groups are coordinated by the leader of their
 * __consumer_offsets partition (created on first use); transaction and share
 * group coordinators do not exist yet.
 */
export function createGroupCoordinatorLookup(services: BrokerServices): CoordinatorLookup {
  const { controller } = services;
  return async (keyType, key, context) => {
    if (keyType !== CoordinatorKeyType.GROUP) return noCoordinators(keyType, key, context);
    const coordinator = groupCoordinatorFor(services);
    try {
      await coordinator.ensureOffsetsTopic();
    } catch (err) {
      services.logger.warn('could not create __consumer_offsets', { error: String(err) });
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `The ${OFFSETS_TOPIC} topic could not be created.`);
    }
    const partition = coordinator.partitionFor(key);
    const state = controller.topic(OFFSETS_TOPIC)?.partitions[partition];
    const broker = state && state.leader >= 0 ? controller.brokers().find((b) => b.brokerId === state.leader) : undefined;
    const endpoint = broker ? endpointFor(broker, context?.connection.listenerName ?? '') : undefined;
    if (!endpoint) {
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC}-${partition} has no leader available.`);
    }
    return { nodeId: state!.leader, host: endpoint.host, port: endpoint.port };
  };
}
