/**
 * What a cluster-mode broker asks of the active controller: ISR changes
 * (AlterPartition, as the replica manager's ClusterLink) and, on shutdown,
 * ControlledShutdown. The controller is the one the last UpdateMetadata
 * named; when it answers NOT_CONTROLLER, cannot be reached, or none is known,
 * the request waits for the next UpdateMetadata (a new controller always
 * sends one) and is retried until controller.socket.timeout.ms runs out.
 */
import { ConnectionError, RequestTimeoutError } from '../../client/errors.js';
import type { Logger } from '../../logging.js';
import type { AlterPartitionProposal, BrokerAddress, ClusterLink } from '../../broker/cluster-link.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { AlterPartitionRequest, AlterPartitionResponse } from '../../protocol/messages/alter-partition.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import type { BrokerRegistration, PartitionState } from '../types.js';
import type { ControllerClient, ControllerTarget } from './controller-client.js';

/** AlterPartition versions before 2 name topics; 2+ use topic ids. */
const ALTER_PARTITION_TOPIC_ID_VERSION = 2;
/** v3+ carries each ISR member's broker epoch. */
const ALTER_PARTITION_ISR_EPOCHS_VERSION = 3;
/** Longest pause between attempts while no controller answers (the next UpdateMetadata ends it sooner). */
const RETRY_PAUSE_MS = 500;

export interface ControllerLinkOptions {
  brokerId: number;
  /** Our broker epoch (the czxid of /brokers/ids/<id>), or -1 when unknown. */
  brokerEpoch(): bigint;
  /** inter.broker.listener.name */
  listenerName: string;
  client: ControllerClient;
  /** The controller the metadata names, or -1. */
  controllerId(): number;
  /** A live broker's registration from the metadata cache. */
  broker(brokerId: number): BrokerRegistration | undefined;
  /** A partition's assigned replicas as this broker knows them (the ISR change does not carry them). */
  replicasOf(topic: string, partition: number): number[];
  /** Resolves at the next metadata update, or after `timeoutMs`. */
  nextMetadataUpdate(timeoutMs: number): Promise<void>;
  /** controller.socket.timeout.ms */
  requestTimeoutMs: number;
  logger: Logger;
}

/** The address of `broker` on `listenerName`, if it advertises one. */
export function listenerAddress(broker: BrokerRegistration | undefined, listenerName: string): BrokerAddress | undefined {
  const endpoint = broker?.endpoints.find((e) => e.listenerName === listenerName);
  return endpoint ? { host: endpoint.host, port: endpoint.port } : undefined;
}

/** Errors worth another attempt against a (possibly new) controller. */
function isRetriable(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof RequestTimeoutError || !(err instanceof KafkaError);
}

export class ControllerLink implements ClusterLink {
  private closed = false;

  constructor(private readonly options: ControllerLinkOptions) {}

  brokerAddress(brokerId: number): BrokerAddress | undefined {
    return listenerAddress(this.options.broker(brokerId), this.options.listenerName);
  }

  /** The controller's inter-broker address, when the metadata names a live one. */
  controllerTarget(): ControllerTarget | undefined {
    const brokerId = this.options.controllerId();
    if (brokerId < 0) return undefined;
    const address = this.brokerAddress(brokerId);
    return address ? { brokerId, ...address } : undefined;
  }

  async alterPartition(proposal: AlterPartitionProposal): Promise<PartitionState> {
    const response = await this.withController('AlterPartition', (target) =>
      this.options.client.request(target, ApiKey.AlterPartition, (version) => this.alterPartitionBody(proposal, version), {
        // Without a topic id only the name-based versions can say which topic.
        maxVersion: proposal.topicId === ZERO_UUID ? ALTER_PARTITION_TOPIC_ID_VERSION - 1 : undefined,
      }),
    );
    return this.committedState(proposal, response);
  }

  /** Stops retrying: pending requests fail at their next attempt. */
  close(): void {
    this.closed = true;
  }

  /**
   * Runs `send` against the current controller until it gets an answer other
   * than NOT_CONTROLLER, or the deadline passes (REQUEST_TIMED_OUT).
   */
  private async withController<R extends { errorCode: number }>(
    what: string,
    send: (target: ControllerTarget) => Promise<R>,
  ): Promise<R> {
    const deadline = Date.now() + this.options.requestTimeoutMs;
    for (;;) {
      if (this.closed) throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, 'The broker is shutting down.');
      const target = this.controllerTarget();
      let reason: string;
      if (!target) {
        reason = 'no live controller is known yet';
      } else {
        try {
          const response = await send(target);
          if (response.errorCode !== ErrorCode.NOT_CONTROLLER) return response;
          reason = `broker ${target.brokerId} is no longer the controller`;
        } catch (err) {
          if (!isRetriable(err)) throw err;
          reason = `controller ${target.brokerId} did not answer: ${String(err)}`;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${what} got no answer from a controller (${reason}).`);
      }
      this.options.logger.debug(`${what}: retrying`, { reason });
      await this.options.nextMetadataUpdate(Math.min(RETRY_PAUSE_MS, left));
    }
  }

  private alterPartitionBody(p: AlterPartitionProposal, version: number): AlterPartitionRequest {
    const byId = version >= ALTER_PARTITION_TOPIC_ID_VERSION;
    return {
      brokerId: this.options.brokerId,
      brokerEpoch: this.options.brokerEpoch(),
      topics: [
        {
          ...(byId ? { topicId: p.topicId } : { topicName: p.topic }),
          partitions: [
            {
              partitionIndex: p.partition,
              leaderEpoch: p.leaderEpoch,
              ...(version >= ALTER_PARTITION_ISR_EPOCHS_VERSION
                ? { newIsrWithEpochs: p.newIsr.map((brokerId) => ({ brokerId, brokerEpoch: -1n })) }
                : { newIsr: p.newIsr }),
              leaderRecoveryState: 0,
              partitionEpoch: p.partitionEpoch,
            },
          ],
        },
      ],
    };
  }

  private committedState(p: AlterPartitionProposal, response: AlterPartitionResponse): PartitionState {
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(response.errorCode, `The controller refused the ISR change of ${p.topic}-${p.partition}.`);
    }
    const topic = response.topics.find(
      (t) => (t.topicName !== undefined && t.topicName === p.topic) || (p.topicId !== ZERO_UUID && t.topicId === p.topicId),
    );
    const result = topic?.partitions.find((q) => q.partitionIndex === p.partition);
    if (!result) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `The controller's AlterPartition response left out ${p.topic}-${p.partition}.`);
    }
    if (result.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(result.errorCode, `The controller refused the ISR change of ${p.topic}-${p.partition}.`);
    }
    return {
      partition: p.partition,
      replicas: this.options.replicasOf(p.topic, p.partition),
      isr: result.isr,
      leader: result.leaderId,
      leaderEpoch: result.leaderEpoch,
      partitionEpoch: result.partitionEpoch,
    };
  }
}
