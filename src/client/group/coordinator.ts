/** Finding a group's coordinator (FindCoordinator, key type 0). */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { Cluster } from '../cluster.js';
import { BrokerConnection } from '../connection.js';
import { ConnectionError, TimeoutError } from '../errors.js';
import { sleep } from '../util.js';

export interface CoordinatorInfo {
  nodeId: number;
  host: string;
  port: number;
}

/** Codes after which the request goes to a freshly found coordinator. */
export const COORDINATOR_CODES = new Set<number>([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** Looks up the coordinator of `groupId`, retrying retriable errors until `deadline`. */
export async function findCoordinator(cluster: Cluster, groupId: string, deadline: number): Promise<CoordinatorInfo> {
  let lastError: Error | null = null;
  for (let attempt = 0; ; attempt++) {
    if (Date.now() >= deadline) {
      throw new TimeoutError(`Timed out finding the coordinator of group '${groupId}'${lastError ? ` (last error: ${lastError.message})` : ''}`);
    }
    try {
      const conn = await cluster.anyConnection();
      const res = await conn.request(ApiKey.FindCoordinator, (v) =>
        v >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 },
      );
      const c = res.coordinators?.[0];
      const code = c !== undefined ? c.errorCode : (res.errorCode ?? 0);
      if (code === ErrorCode.NONE) {
        return c !== undefined ? { nodeId: c.nodeId, host: c.host, port: c.port } : { nodeId: res.nodeId!, host: res.host!, port: res.port! };
      }
      const error = new KafkaError(code, `FindCoordinator for group '${groupId}'${c?.errorMessage ?? res.errorMessage ? `: ${c?.errorMessage ?? res.errorMessage}` : ''}`);
      if (!error.retriable) throw error;
      lastError = error;
    } catch (error) {
      if (error instanceof KafkaError && !error.retriable && !(error instanceof ConnectionError)) throw error;
      lastError = error as Error;
    }
    await sleep(Math.min(1000, cluster.options.retryBackoffMs * (attempt + 1)), cluster.signal);
  }
}

/** A dedicated connection to the coordinator (so long JoinGroup waits do not hold up fetches). */
export async function openCoordinatorConnection(cluster: Cluster, info: CoordinatorInfo): Promise<BrokerConnection> {
  const o = cluster.options;
  return BrokerConnection.open({
    host: info.host,
    port: info.port,
    clientId: o.clientId,
    requestTimeoutMs: o.requestTimeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
    maxResponseBytes: o.maxResponseBytes,
    logger: cluster.logger,
  });
}
