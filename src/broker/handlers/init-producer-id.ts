/**
 * InitProducerId v0-5: a producer id and epoch for an idempotent or
 * transactional producer.
 *
 * Without a transactional id (idempotent producers) every call gets a fresh
 * producer id at epoch 0 from the broker's block of ids, as Kafka answers it
 * (also when the request names a current id and epoch, KIP-360: a new id
 * resets the sequences just as a bump would). With a transactional id the
 * transaction coordinator answers (fencing, epoch bumps, aborting the
 * previous transaction); until one is plugged in that is
 * COORDINATOR_NOT_AVAILABLE. PRODUCER_FENCED is answered as
 * INVALID_PRODUCER_EPOCH before v4, as Kafka does.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/messages/init-producer-id.js';
import { producerIdManagerFor } from '../../coordinator/transaction/producer-id-manager.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

/** PRODUCER_FENCED came with InitProducerId v4. */
const PRODUCER_FENCED_VERSION = 4;

/** PRODUCER_FENCED for versions from `since` on; older ones know it as INVALID_PRODUCER_EPOCH. */
export function fencedFor(code: number, version: number, since: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < since ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}

export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
}

/** What the transaction coordinator offers InitProducerId for a transactional id. */
export type TransactionalInit = (request: {
  transactionalId: string;
  transactionTimeoutMs: number;
  producerId: number;
  producerEpoch: number;
}) => Promise<ProducerIdAndEpoch>;

export function createInitProducerIdHandler(services: BrokerServices, transactional?: TransactionalInit) {
  const { controller, brokerId, logger } = services;
  const ids = producerIdManagerFor(controller, brokerId);

  async function answer(request: InitProducerIdRequest): Promise<ProducerIdAndEpoch> {
    if (request.transactionalId === null) {
      return { producerId: await ids.generate(), producerEpoch: 0 };
    }
    if (request.transactionalId === '') {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'The transactional id must not be empty (use null for an idempotent producer).');
    }
    if (!transactional) {
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The transaction coordinator is not available.');
    }
    return transactional({
      transactionalId: request.transactionalId,
      transactionTimeoutMs: request.transactionTimeoutMs,
      producerId: Number(request.producerId ?? -1n),
      producerEpoch: request.producerEpoch ?? -1,
    });
  }

  return defineHandler({
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    async handle(request, context): Promise<InitProducerIdResponse> {
      try {
        const { producerId, producerEpoch } = await answer(request);
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: BigInt(producerId), producerEpoch };
      } catch (err) {
        if (err instanceof KafkaError) {
          return { throttleTimeMs: 0, errorCode: fencedFor(err.code, context.apiVersion, PRODUCER_FENCED_VERSION), producerId: -1n, producerEpoch: -1 };
        }
        logger.error('InitProducerId failed', { transactionalId: request.transactionalId, err: String(err) });
        return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, producerId: -1n, producerEpoch: -1 };
      }
    },
  });
}
