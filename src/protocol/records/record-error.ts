/**
 * The one error type the records layer throws for bad bytes. It is a
 * KafkaError because a bad batch is answered per partition with a code
 * (CORRUPT_MESSAGE, INVALID_RECORD, ...) rather than by closing the
 * connection the way an undecodable request frame is.
 */
import { ErrorCode, KafkaError } from '../errors.js';

export class RecordError extends KafkaError {
  override name = 'RecordError';
}

/** CRC mismatch, impossible lengths, bad varints, truncated record data. */
export function corrupt(detail: string, cause?: unknown): RecordError {
  return new RecordError(ErrorCode.CORRUPT_MESSAGE, detail, cause === undefined ? undefined : { cause });
}

/** Well-formed bytes that break a rule the broker enforces. */
export function invalidRecord(detail: string): RecordError {
  return new RecordError(ErrorCode.INVALID_RECORD, detail);
}

/** Decompressed data larger than the caller's limit. */
export function tooLarge(detail: string): RecordError {
  return new RecordError(ErrorCode.MESSAGE_TOO_LARGE, detail);
}
