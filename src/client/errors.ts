/**
 * The client's error types.
 *
 * Anything a broker answered with an error code is a `KafkaError` (from the
 * protocol layer) carrying Kafka's code and name. Client-side conditions
 * that Kafka also names with a code (a dropped connection, a request past
 * `request.timeout.ms`, a record too large) are `KafkaError` subclasses, so
 * `err instanceof KafkaError && err.retriable` works for both. Conditions
 * with no wire code (a full buffer, a closed client, bad settings) have their
 * own classes.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ConfigError } from '../config/errors.js';

/** ConfigError is the configuration layer's: a setting has a bad value or a required one is missing. */
export { KafkaError, ErrorCode, ConfigError };

/** The TCP connection to a broker failed or dropped (NETWORK_EXCEPTION, retriable). */
export class ConnectionError extends KafkaError {
  override name = 'ConnectionError';
  /** `host:port` of the broker. */
  readonly broker: string;

  constructor(broker: string, detail: string, options?: { cause?: unknown }) {
    super(ErrorCode.NETWORK_EXCEPTION, `${broker}: ${detail}`, options);
    this.broker = broker;
  }
}

/** No response within `request.timeout.ms` (REQUEST_TIMED_OUT, retriable). */
export class RequestTimeoutError extends KafkaError {
  override name = 'RequestTimeoutError';
  readonly broker: string;

  constructor(broker: string, apiName: string, timeoutMs: number) {
    super(ErrorCode.REQUEST_TIMED_OUT, `${apiName} request to ${broker} got no response within ${timeoutMs} ms`);
    this.broker = broker;
  }
}

/**
 * A client-side deadline passed: `max.block.ms` (waiting for metadata or
 * buffer room), `delivery.timeout.ms`, or an operation's timeout.
 */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** `send` waited `max.block.ms` for room in `buffer.memory` and found none. */
export class BufferExhaustedError extends TimeoutError {
  override name = 'BufferExhaustedError';
}

/** A record (or request) exceeds `max.request.size` or `buffer.memory` (MESSAGE_TOO_LARGE). */
export class RecordTooLargeError extends KafkaError {
  override name = 'RecordTooLargeError';

  constructor(detail: string) {
    super(ErrorCode.MESSAGE_TOO_LARGE, detail);
  }
}

/** The client was closed before the operation completed. */
export class ClientClosedError extends Error {
  override name = 'ClientClosedError';
}

/** The broker does not support any version of an API this operation needs, in the range the client speaks. */
export class UnsupportedVersionError extends KafkaError {
  override name = 'UnsupportedVersionError';

  constructor(detail: string) {
    super(ErrorCode.UNSUPPORTED_VERSION, detail);
  }
}

/** A partition has no position and `auto.offset.reset` is `none`. */
export class NoOffsetForPartitionError extends Error {
  override name = 'NoOffsetForPartitionError';
  readonly partitions: ReadonlyArray<{ topic: string; partition: number }>;

  constructor(partitions: ReadonlyArray<{ topic: string; partition: number }>) {
    super(
      `Undefined offset with no reset policy for partitions: ${partitions.map((p) => `${p.topic}-${p.partition}`).join(', ')}`,
    );
    this.partitions = partitions;
  }
}

/** A fetch position is out of range and `auto.offset.reset` is `none` (OFFSET_OUT_OF_RANGE). */
export class OffsetOutOfRangeError extends KafkaError {
  override name = 'OffsetOutOfRangeError';
  /** The out-of-range positions, by partition. */
  readonly offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>;

  constructor(offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>) {
    super(
      ErrorCode.OFFSET_OUT_OF_RANGE,
      `Fetch position out of range with no reset policy: ${offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(', ')}`,
    );
    this.offsets = offsets;
  }
}

/**
 * One or more entities of an admin call failed. It is the first failure's
 * KafkaError (code, name, retriable) and lists every failure; the other
 * entities of the call succeeded.
 */
export class AdminError extends KafkaError {
  override name = 'AdminError';
  readonly failures: ReadonlyArray<{ resource: string; error: KafkaError }>;

  constructor(failures: ReadonlyArray<{ resource: string; error: KafkaError }>) {
    const first = failures[0]!;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more failure(s))` : '';
    super(first.error.code, `${first.resource}: ${first.error.detail}${more}`, { cause: first.error });
    this.failures = failures;
  }
}

/** The KafkaError for a response's error code and optional message, or null for NONE. */
export function errorFromCode(code: number, message?: string | null): KafkaError | null {
  if (code === ErrorCode.NONE) return null;
  return new KafkaError(code, message ?? undefined);
}

/** Whether retrying may help: retriable Kafka codes and connection-level failures. */
export function isRetriable(error: unknown): boolean {
  return error instanceof KafkaError && error.retriable;
}
