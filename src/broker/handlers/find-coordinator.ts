/**
 * FindCoordinator v0-6: where a group's (or transactional id's, or share
 * group's) coordinator lives. v0-3 ask for one key; v4+ batch them in
 * coordinator_keys and get one answer per key (KIP-699).
 *
 * Until the group coordinator lands, every key answers
 * COORDINATOR_NOT_AVAILABLE (node -1, host '', port -1) with a message saying
 * why; clients treat that as retriable. The coordinator plugs in through the
 * optional `lookup` argument of the factory, so this file stays the one place
 * that speaks the wire shape.
 *
 * As Kafka: an unknown key type answers INVALID_REQUEST for every key; the
 * share key type (2) is only valid from v6.
 *
 * Deliberately not done: ACL checks, quotas (throttle time is always 0).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { FindCoordinatorResponse, FindCoordinatorResponseCoordinator } from '../../protocol/messages/find-coordinator.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

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
export type CoordinatorLookup = (keyType: number, key: string) => CoordinatorNode | Promise<CoordinatorNode>;

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

  async function answer(keyType: number, key: string, version: number): Promise<Answer> {
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
      return { ...(await lookup(keyType, key)), errorCode: ErrorCode.NONE, errorMessage: null };
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
          const a = await answer(keyType, key, version);
          coordinators.push({ key, nodeId: a.nodeId, host: a.host, port: a.port, errorCode: a.errorCode, errorMessage: a.errorMessage });
        }
        return { throttleTimeMs: 0, coordinators };
      }
      const a = await answer(keyType, request.key ?? '', version);
      const response: FindCoordinatorResponse = { errorCode: a.errorCode, nodeId: a.nodeId, host: a.host, port: a.port };
      if (version >= 1) {
        response.throttleTimeMs = 0;
        response.errorMessage = a.errorMessage;
      }
      return response;
    },
  });
}
