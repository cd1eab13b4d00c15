/**
 * The broker's half of a controlled shutdown (Kafka's
 * KafkaServer.controlledShutdown): ask the active controller to move every
 * leadership off this broker and drop it from ISRs before it stops, so
 * clients fail over without waiting for the ZooKeeper session to expire.
 *
 * Each attempt looks the controller up afresh (it may have moved), sends
 * ControlledShutdown and succeeds when the controller answers NONE with no
 * partitions left; controlled.shutdown.max.retries attempts in all, with
 * controlled.shutdown.retry.backoff.ms between them. Giving up is not an
 * error: the broker shuts down anyway and the controller notices through
 * ZooKeeper.
 */
import type { Logger } from '../../logging.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { ControllerClient, ControllerTarget } from './controller-client.js';

export interface ControlledShutdownOptions {
  brokerId: number;
  /** The czxid of our /brokers/ids node, or -1 when unknown. */
  brokerEpoch: bigint;
  /** controlled.shutdown.max.retries: attempts in all. */
  maxRetries: number;
  /** controlled.shutdown.retry.backoff.ms */
  retryBackoffMs: number;
  /** The active controller's inter-broker address, looked up at each attempt. */
  locateController(): Promise<ControllerTarget | undefined>;
  client: ControllerClient;
  logger: Logger;
}

/** Returns true when the controller confirmed that this broker leads nothing any more. */
export async function controlledShutdown(options: ControlledShutdownOptions): Promise<boolean> {
  const { brokerId, logger } = options;
  for (let attempt = 1; attempt <= options.maxRetries; attempt++) {
    const outcome = await attemptOnce(options);
    if (outcome === null) {
      logger.info('controlled shutdown succeeded', { brokerId, attempt });
      return true;
    }
    const left = options.maxRetries - attempt;
    logger.warn('controlled shutdown attempt failed', { brokerId, attempt, reason: outcome, retriesLeft: left });
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, options.retryBackoffMs));
  }
  logger.warn('controlled shutdown did not complete; shutting down anyway', { brokerId });
  return false;
}

/** Null on success, else why the attempt failed. */
async function attemptOnce(options: ControlledShutdownOptions): Promise<string | null> {
  let target: ControllerTarget | undefined;
  try {
    target = await options.locateController();
  } catch (err) {
    return `could not look up the controller: ${String(err)}`;
  }
  if (!target) return 'no controller is active';
  try {
    const response = await options.client.request(target, ApiKey.ControlledShutdown, () => ({
      brokerId: options.brokerId,
      brokerEpoch: options.brokerEpoch,
    }));
    if (response.errorCode !== ErrorCode.NONE) return `controller ${target.brokerId} answered ${errorName(response.errorCode)}`;
    if (response.remainingPartitions.length > 0) {
      const remaining = response.remainingPartitions.map((p) => `${p.topicName}-${p.partitionIndex}`);
      return `this broker still leads ${remaining.length} partition(s): ${remaining.slice(0, 10).join(', ')}`;
    }
    return null;
  } catch (err) {
    return `controller ${target.brokerId} did not answer: ${String(err)}`;
  }
}
