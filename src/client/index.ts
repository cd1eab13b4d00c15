/**
 * Ganglion's Kafka client: Admin, Producer and Consumer over the wire
 * protocol, configured with Kafka's setting names.
 *
 * ```ts
 * import { Admin, Producer, Consumer } from 'ganglion';
 * const config = { 'bootstrap.servers': 'localhost:9092' };
 * ```
 */
export {
  Admin,
  OffsetTimestamp,
  type AdminOptions,
  type AlterConfigOp,
  type AlterConfigOpType,
  type AlterConfigsOptions,
  type AlterConfigsResource,
  type ApiVersionInfo,
  type BrokerApiVersions,
  type ClusterDescription,
  type ConfigEntry,
  type ConfigResource,
  type ConfigResourceDescription,
  type ConfigResourceType,
  type ConfigSource,
  type ConfigSynonym,
  type CreateTopicsOptions,
  type CreatedTopic,
  type DeleteRecordsRequest,
  type DeletedRecords,
  type DescribeConfigsOptions,
  type DescribeConfigsResource,
  type IncrementalAlterConfigsResource,
  type ListOffsetsOptions,
  type ListOffsetsRequest,
  type ListTopicsOptions,
  type ListedOffset,
  type LogDirDescription,
  type LogDirPartition,
  type NewPartitions,
  type NewTopic,
  type OffsetSpec,
  type PartitionDescription,
  type TimeoutOptions,
  type TopicDescription,
} from './admin.js';
export {
  type ElectionResult,
  type ElectionType,
  type PartitionReassignment,
  type ReassignmentTarget,
} from './admin-cluster.js';
export {
  type CommittedOffset,
  type GroupDeletion,
  type GroupDescription,
  type GroupMemberDescription,
  type ListedGroup,
} from './admin-groups.js';
export {
  Producer,
  type ProducerCloseOptions,
  type ProducerMetrics,
  type ProducerOptions,
  type ProducerRecord,
  type RecordBytes,
  type RecordHeaders,
  type RecordMetadata,
} from './producer.js';
export { ProducerFencedError, TransactionManager, type TransactionOffset } from './transactions.js';
export {
  Consumer,
  type ConsumerOptions,
  type ConsumerRecord,
  type RecordHeader,
  type RecordsIteratorOptions,
} from './consumer.js';
export {
  ManualAssignment,
  type AssignmentContext,
  type AssignmentSource,
  type RebalanceListener,
  type TopicPartitionOffset,
} from './assignment.js';
export {
  type AdminConfig,
  type CommonClientConfig,
  type ConfigInput,
  type ConfigValue,
  type ConsumerConfig,
  type ProducerConfig,
  ResolvedConfig,
  parseAddress,
} from './config.js';
export {
  AdminError,
  BufferExhaustedError,
  ClientClosedError,
  ConfigError,
  ConnectionError,
  ErrorCode,
  KafkaError,
  NoOffsetForPartitionError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  RequestTimeoutError,
  TimeoutError,
  UnsupportedVersionError,
  isRetriable,
} from './errors.js';
export { murmur2, partitionForKey, toPositive, type Partitioner, type PartitionerArgs } from './partitioner.js';
export { BrokerConnection, type ConnectionOptions, type RequestOptions, type VersionRange } from './connection.js';
export {
  Cluster,
  ClusterMetadata,
  type BrokerNode,
  type ClusterOptions,
  type PartitionMetadata,
  type TopicMetadata,
} from './cluster.js';
export { tpKey, type TopicPartition } from './util.js';
export { CommitFailedError, GroupMembership, type GroupMetadata } from './group/membership.js';
export {
  CooperativeStickyAssignor,
  RangeAssignor,
  RoundRobinAssignor,
  assignorFor,
  type MemberSubscription,
  type PartitionAssignor,
} from './group/assignors.js';
