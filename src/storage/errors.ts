/**
 * Errors storage throws where the broker must answer with a specific Kafka
 * error code. Each is a KafkaError, so a handler can put `err.code` straight
 * into its response.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';

/** The fetch offset is below the log start offset or past the log end offset. */
export class OffsetOutOfRangeError extends KafkaError {
  override name = 'OffsetOutOfRangeError';
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
    what = 'offset',
  ) {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, `${what} ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
  }
}

/** A single batch is larger than a whole segment may be. */
export class RecordBatchTooLargeError extends KafkaError {
  override name = 'RecordBatchTooLargeError';
  constructor(size: number, segmentBytes: number) {
    super(ErrorCode.RECORD_LIST_TOO_LARGE, `a batch of ${size} bytes exceeds segment.bytes ${segmentBytes}`);
  }
}

/** The bytes handed to append are not well-formed magic-2 batches. */
export class CorruptRecordError extends KafkaError {
  override name = 'CorruptRecordError';
  constructor(detail: string) {
    super(ErrorCode.CORRUPT_MESSAGE, detail);
  }
}

/**
 * A follower append whose offsets do not follow the log end offset (Kafka's
 * UnexpectedAppendOffsetException; never sent on the wire).
 */
export class UnexpectedAppendOffsetError extends KafkaError {
  override name = 'UnexpectedAppendOffsetError';
  constructor(
    readonly firstOffset: number,
    readonly logEndOffset: number,
  ) {
    super(ErrorCode.UNKNOWN_SERVER_ERROR, `follower append starts at ${firstOffset}, below the log end offset ${logEndOffset}`);
  }
}

/** The log was closed or deleted (or its directory failed). */
export class LogClosedError extends KafkaError {
  override name = 'LogClosedError';
  constructor(what: string) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, `${what} is closed`);
  }
}

/** A checkpoint file does not parse. */
export class CorruptCheckpointError extends KafkaError {
  override name = 'CorruptCheckpointError';
  constructor(path: string, detail: string) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, `checkpoint ${path} is corrupt: ${detail}`);
  }
}
