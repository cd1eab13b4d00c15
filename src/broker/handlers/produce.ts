/**
 * Produce v3-11 (record batches of magic 2 only, as Kafka 4.0). Versions 0-2
 * are advertised but answered UNSUPPORTED_VERSION, as Kafka 4.0 does
 * (KAFKA-18659): librdkafka enables gzip, snappy and lz4 only when a broker
 * lists Produce v0-2, and would otherwise send those batches uncompressed.
 *
 * Each partition's batches are checked from their headers (CRC, sizes), get
 * their offsets written in place and are appended as they came; nothing is
 * acknowledged before the bytes are in the file (page cache). acks=0 gets no
 * response, acks=1 answers after the leader's append, acks=-1 refuses when the
 * ISR is smaller than min.insync.replicas (NOT_ENOUGH_REPLICAS) and otherwise
 * parks in the purgatory until the high watermark covers the batch (the
 * followers fetched it): then NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND if
 * the ISR shrank below min.insync.replicas meanwhile; NOT_LEADER_OR_FOLLOWER
 * if this broker stopped leading; REQUEST_TIMED_OUT after timeout_ms. On a
 * single node the high watermark moves with the append: no wait.
 *
 * Idempotent producers: the partition checks each batch's producer id,
 * epoch and sequences against its producer state (header only) under its
 * append lock; a retried batch is answered NONE with its original offsets.
 * Transactional batches are accepted only when they belong to a transaction
 * that includes the partition.
 *
 * Not yet: quotas (throttle is 0).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { ProduceRequest, ProduceResponse, ProduceResponsePartitionProduceResponse } from '../../protocol/messages/produce.js';
import { defineHandler } from '../handler-registry.js';
import type { Partition } from '../partition.js';
import { validateProducedRecords } from '../produce-validation.js';
import type { BrokerServices } from '../services.js';
import { transactionVerifier } from './transactions.js';

/** Oldest version served for real (record batches of magic 2). */
const MIN_SERVED_VERSION = 3;

/** The same error for every partition of the request. */
function refuseAll(topicData: ProduceRequest['topicData'], errorCode: number, errorMessage: string): ProduceResponse {
  const responses = topicData.map((t) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode, baseOffset: -1n, errorMessage })),
  }));
  return { responses, throttleTimeMs: 0 };
}

export function createProduceHandler(services: BrokerServices) {
  const { replicaManager, controller, logger } = services;

  async function produceToPartition(
    topic: string,
    index: number,
    records: Buffer | null,
    acks: number,
    timeoutMs: number,
    version: number,
    transactionalId: string | null,
  ): Promise<ProduceResponsePartitionProduceResponse> {
    const base = { index, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null };
    let partition: Partition | undefined;
    try {
      if (!controller.topic(topic)) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topic} does not exist.`);
      }
      partition = replicaManager.leaderPartition(topic, index);
      const topicConfig = replicaManager.topicConfig(topic);
      const minInsync = topicConfig.get('min.insync.replicas');
      if (acks === -1 && partition.isr.length < minInsync) {
        throw new KafkaError(
          ErrorCode.NOT_ENOUGH_REPLICAS,
          `The ISR of ${partition.key} has ${partition.isr.length} replicas, fewer than min.insync.replicas=${minInsync}.`,
        );
      }
      const batches = await validateProducedRecords(records, {
        produceVersion: version,
        maxMessageBytes: topicConfig.get('max.message.bytes'),
        compressionType: topicConfig.get('compression.type'),
        compacted: topicConfig.compact,
      });
      const result = await partition.appendAsLeader(batches, { verifyTransaction: transactionVerifier(services, transactionalId, topic, index) });
      const answer = {
        ...base,
        errorCode: ErrorCode.NONE,
        baseOffset: BigInt(result.baseOffset),
        logAppendTimeMs: BigInt(result.logAppendTime),
        logStartOffset: BigInt(result.logStartOffset),
      };
      if (acks === -1) {
        const target = result.lastOffset + 1;
        const p = partition;
        const leading = () => p.isLeader && replicaManager.getPartition(topic, index) === p;
        const settled = await replicaManager.purgatory.wait([p.key], timeoutMs, () => !leading() || p.highWatermark >= target);
        if (!leading()) {
          return { ...answer, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, errorMessage: `This server stopped leading ${p.key} before the batch was replicated.` };
        }
        if (!settled) {
          return { ...answer, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'Timed out waiting for the ISR to replicate the batch.' };
        }
        const isrNow = p.isr.length;
        const minNow = replicaManager.topicConfig(topic).get('min.insync.replicas');
        if (isrNow < minNow) {
          return {
            ...answer,
            errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            errorMessage: `The batch was written, but the ISR of ${p.key} shrank to ${isrNow}, below min.insync.replicas=${minNow}.`,
          };
        }
      }
      return answer;
    } catch (err) {
      if (err instanceof KafkaError) {
        return { ...base, errorCode: err.code, errorMessage: err.detail, logStartOffset: partition ? BigInt(partition.log.logStartOffset) : -1n };
      }
      logger.error('produce failed', { topic, partition: index, error: String(err) });
      return { ...base, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: 'The broker could not write the batch.' };
    }
  }

  return defineHandler({
    apiKey: ApiKey.Produce,
    minVersion: 0,
    maxVersion: 11,
    async handle(request, context) {
      const { acks, timeoutMs } = request;
      if (context.apiVersion < MIN_SERVED_VERSION) {
        return refuseAll(request.topicData, ErrorCode.UNSUPPORTED_VERSION, `Produce v${context.apiVersion} (message format v0/v1) is not supported; use v${MIN_SERVED_VERSION} or later.`);
      }
      if (acks !== 0 && acks !== 1 && acks !== -1) {
        return refuseAll(request.topicData, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, not ${acks}`);
      }
      const responses = await Promise.all(
        request.topicData.map(async (t) => ({
          name: t.name,
          partitionResponses: await Promise.all(
            t.partitionData.map((p) => produceToPartition(t.name, p.index, p.records, acks, timeoutMs, context.apiVersion, request.transactionalId ?? null)),
          ),
        })),
      );
      if (acks === 0) return null;
      return { responses, throttleTimeMs: 0 };
    },
  });
}
