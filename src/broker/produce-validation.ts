/**
 * Checks a produced records buffer the way Kafka's leader does, reading batch
 * headers only: whole magic-2 batches, valid CRC-32C, at least one record,
 * no control batches from clients, each batch within max.message.bytes.
 * Records are decoded only where the semantics need them, as in Kafka: when
 * the topic's compression.type asks for a different codec than the producer
 * used (the batch is rebuilt), and on compacted topics, where every record
 * must have a key.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  CompressionType,
  RecordBatch,
  buildBatchAsync,
  compressionTypeByName,
  scanBatches,
  type RecordInput,
} from '../protocol/records/index.js';

export interface ProducedRecordsLimits {
  /** The Produce request version (zstd needs v7+). */
  produceVersion: number;
  maxMessageBytes: number;
  /** The topic's compression.type: 'producer', 'uncompressed' or a codec name. */
  compressionType: string;
  /** cleanup.policy includes compact: keyless records could never be cleaned. */
  compacted: boolean;
}

const ZSTD_MIN_PRODUCE_VERSION = 7;

/** Validates in place; returns the batches to append (rebuilt only when recompression is required). */
export async function validateProducedRecords(records: Buffer | null, limits: ProducedRecordsLimits): Promise<Buffer> {
  if (records === null || records.length === 0) {
    // As Kafka's ProduceRequest.validateRecords: INVALID_RECORD, which clients do not retry
    // (CORRUPT_MESSAGE is retriable, and resending the same empty data cannot succeed).
    throw new KafkaError(ErrorCode.INVALID_RECORD, 'Produce requests must carry one record batch per partition; this one carries none.');
  }
  const scan = scanBatches(records);
  if (scan.truncatedBytes > 0) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `The last ${scan.truncatedBytes} bytes are not a whole record batch.`);
  }
  if (scan.batches.length !== 1) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, `Produce requests must carry exactly one record batch per partition, not ${scan.batches.length}.`);
  }
  for (const batch of scan.batches) {
    if (batch.compression === CompressionType.Zstd && limits.produceVersion < ZSTD_MIN_PRODUCE_VERSION) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `zstd needs Produce v${ZSTD_MIN_PRODUCE_VERSION} or later.`);
    }
    if (batch.sizeInBytes > limits.maxMessageBytes) {
      throw new KafkaError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `The record batch is ${batch.sizeInBytes} bytes, larger than the topic's max.message.bytes (${limits.maxMessageBytes}).`,
      );
    }
    batch.validate({ produce: true });
    if (batch.isControl) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, 'Clients may not produce control batches.');
    }
    if (limits.compacted) await requireKeys(batch);
  }
  const target = targetCompression(limits.compressionType);
  if (target === null || scan.batches.every((b) => b.compression === target)) return records;
  const rebuilt = await Promise.all(scan.batches.map((b) => recompress(b, target)));
  return Buffer.concat(rebuilt);
}

async function requireKeys(batch: RecordBatch): Promise<void> {
  for (const record of await batch.recordsAsync()) {
    if (record.key === null) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, 'Compacted topic cannot accept message without key.');
    }
  }
}

/** The codec the topic requires, or null when it keeps the producer's. */
function targetCompression(compressionType: string): CompressionType | null {
  if (compressionType === 'producer') return null;
  if (compressionType === 'uncompressed') return CompressionType.None;
  return compressionTypeByName(compressionType);
}

async function recompress(batch: RecordBatch, compression: CompressionType): Promise<Buffer> {
  if (batch.compression === compression) return batch.buffer;
  const records: RecordInput[] = [];
  for (const r of await batch.recordsAsync()) {
    records.push({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offset: r.offset });
  }
  return buildBatchAsync(records, {
    compression,
    baseOffset: batch.baseOffset,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    transactional: batch.isTransactional,
    timestampType: batch.timestampType,
  });
}
