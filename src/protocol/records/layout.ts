/**
 * Byte layout of a RecordBatch (magic 2) header. Storage and the broker read
 * batch headers straight from these offsets; nothing else needs to know them.
 *
 *   baseOffset: int64          partitionLeaderEpoch: int32   magic: int8
 *   batchLength: int32         crc: uint32 (CRC-32C of attributes..end)
 *   attributes: int16          lastOffsetDelta: int32        baseTimestamp: int64
 *   maxTimestamp: int64        producerId: int64             producerEpoch: int16
 *   baseSequence: int32        records count: int32          records...
 */
export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORDS_COUNT = 57;
/** Size of the full header, where the first record starts. */
export const RECORD_BATCH_OVERHEAD = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
/** The CRC covers everything from the attributes to the end of the batch. */
export const CRC_START = ATTRIBUTES;

export const CURRENT_MAGIC = 2;

/** Attribute bits. */
export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
export const DELETE_HORIZON_FLAG = 0x40;

export const enum CompressionType {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/** Sentinels for batches with no producer (non-idempotent). */
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
