/**
 * Ganglion's library entry point.
 *
 *   import { startBroker } from 'ganglion';
 *   const broker = await startBroker({ port: 0, logDir: '/tmp/ganglion' });
 *   // ... clients use broker.bootstrapServers ...
 *   await broker.close();
 */
export { startBroker, type RunningBroker, type StartBrokerOptions } from './broker/broker.js';
export { loadBrokerConfig, buildBrokerConfig, BrokerConfig, ConfigError } from './config/index.js';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logging.js';
export { Reader, Writer, ZERO_UUID, type Uuid } from './protocol/primitives.js';
export { ProtocolError } from './protocol/protocol-error.js';
export { ErrorCode, KafkaError, errorByCode } from './protocol/errors.js';
export * as records from './protocol/records/index.js';
export * as messages from './protocol/messages/index.js';
export {
  Admin,
  Producer,
  Consumer,
  ManualAssignment,
  OffsetTimestamp,
  AdminError,
  BufferExhaustedError,
  ClientClosedError,
  ConnectionError,
  NoOffsetForPartitionError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  RequestTimeoutError,
  TimeoutError,
  UnsupportedVersionError,
  isRetriable,
  murmur2,
  partitionForKey,
  toPositive,
  type AdminConfig,
  type ProducerConfig,
  type ConsumerConfig,
  type CommonClientConfig,
  type ProducerRecord,
  type RecordMetadata,
  type ConsumerRecord,
  type TopicPartition,
  type NewTopic,
  type TopicDescription,
  type OffsetSpec,
  type ListedOffset,
  type AssignmentSource,
  type RebalanceListener,
} from './client/index.js';
export * as client from './client/index.js';
