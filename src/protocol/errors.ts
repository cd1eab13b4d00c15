/**
 * Kafka's error codes: the int16 every response carries per topic, partition
 * or request. The numbers and names are the wire contract (clients switch on
 * them); the one-line meanings are ours, written for log messages and the
 * console. `retriable` follows the Java client's RetriableException
 * hierarchy: a client may resend the same request and expect it to succeed
 * once the condition passes.
 *
 * The table runs to 133 (SHARE_SESSION_LIMIT_REACHED); codes the broker never
 * sends are listed anyway so a client can name whatever a peer returns.
 */

/** [code, retriable, meaning] per Kafka error name. */
const TABLE = {
  UNKNOWN_SERVER_ERROR: [-1, false, 'the broker failed in a way it has no specific code for'],
  NONE: [0, false, 'no error'],
  OFFSET_OUT_OF_RANGE: [1, false, 'the requested offset is before the log start or past the log end'],
  CORRUPT_MESSAGE: [2, true, 'a record batch failed its CRC, has an impossible size or is otherwise malformed'],
  UNKNOWN_TOPIC_OR_PARTITION: [3, true, 'this broker does not know the topic or partition'],
  INVALID_FETCH_SIZE: [4, false, 'the fetch size in the request is not acceptable'],
  LEADER_NOT_AVAILABLE: [5, true, 'the partition has no leader right now, an election is under way'],
  NOT_LEADER_OR_FOLLOWER: [6, true, 'this broker is not the leader (or not a replica) of the partition'],
  REQUEST_TIMED_OUT: [7, true, 'the request did not complete within its timeout'],
  BROKER_NOT_AVAILABLE: [8, false, 'the broker is not reachable or not registered'],
  REPLICA_NOT_AVAILABLE: [9, true, 'a replica of the partition is not available on the broker'],
  MESSAGE_TOO_LARGE: [10, false, 'a record batch is larger than the broker or topic allows'],
  STALE_CONTROLLER_EPOCH: [11, false, 'the request came from a controller that has been replaced'],
  OFFSET_METADATA_TOO_LARGE: [12, false, 'the metadata string attached to a committed offset is too long'],
  NETWORK_EXCEPTION: [13, true, 'the connection dropped before the response arrived'],
  COORDINATOR_LOAD_IN_PROGRESS: [14, true, 'the coordinator is still loading its state; try again shortly'],
  COORDINATOR_NOT_AVAILABLE: [15, true, 'no coordinator is available for this group or transaction yet'],
  NOT_COORDINATOR: [16, true, 'this broker is not the coordinator for the group or transaction'],
  INVALID_TOPIC_EXCEPTION: [17, false, 'the topic name is invalid or the operation is not allowed on that topic'],
  RECORD_LIST_TOO_LARGE: [18, false, 'the records in the request exceed the segment size'],
  NOT_ENOUGH_REPLICAS: [19, true, 'fewer in-sync replicas than min.insync.replicas; nothing was written'],
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: [20, true, 'written, but the in-sync replica set shrank below the minimum'],
  INVALID_REQUIRED_ACKS: [21, false, 'acks must be -1, 0 or 1'],
  ILLEGAL_GENERATION: [22, false, 'the group generation in the request is not the current one'],
  INCONSISTENT_GROUP_PROTOCOL: [23, false, "the member's protocols do not match those of the group"],
  INVALID_GROUP_ID: [24, false, 'the group id is empty or otherwise invalid'],
  UNKNOWN_MEMBER_ID: [25, false, 'the coordinator does not know this member id'],
  INVALID_SESSION_TIMEOUT: [26, false, 'the session timeout is outside the broker\'s allowed range'],
  REBALANCE_IN_PROGRESS: [27, false, 'the group is rebalancing; the member must rejoin'],
  INVALID_COMMIT_OFFSET_SIZE: [28, false, 'the offset commit is too large'],
  TOPIC_AUTHORIZATION_FAILED: [29, false, 'not authorized to access the topic'],
  GROUP_AUTHORIZATION_FAILED: [30, false, 'not authorized to access the group'],
  CLUSTER_AUTHORIZATION_FAILED: [31, false, 'not authorized for this cluster-level operation'],
  INVALID_TIMESTAMP: [32, false, 'a record timestamp is outside the accepted range'],
  UNSUPPORTED_SASL_MECHANISM: [33, false, 'the broker does not offer the requested SASL mechanism'],
  ILLEGAL_SASL_STATE: [34, false, 'the request is not allowed at this point of the SASL exchange'],
  UNSUPPORTED_VERSION: [35, false, 'the broker does not support this API version'],
  TOPIC_ALREADY_EXISTS: [36, false, 'a topic with that name already exists'],
  INVALID_PARTITIONS: [37, false, 'the partition count is not valid'],
  INVALID_REPLICATION_FACTOR: [38, false, 'the replication factor is not valid'],
  INVALID_REPLICA_ASSIGNMENT: [39, false, 'the replica assignment is not valid'],
  INVALID_CONFIG: [40, false, 'a configuration value is not valid'],
  NOT_CONTROLLER: [41, true, 'this broker is not the active controller'],
  INVALID_REQUEST: [42, false, 'the request is malformed or not meant for this broker; see the broker log'],
  UNSUPPORTED_FOR_MESSAGE_FORMAT: [43, false, 'the operation needs a newer message format than the log has'],
  POLICY_VIOLATION: [44, false, 'the request breaks a configured policy'],
  OUT_OF_ORDER_SEQUENCE_NUMBER: [45, false, 'an idempotent producer sent a sequence number out of order'],
  DUPLICATE_SEQUENCE_NUMBER: [46, false, 'an idempotent producer resent a batch the broker already has'],
  INVALID_PRODUCER_EPOCH: [47, false, 'the producer epoch is older than the current one (the producer was fenced or timed out)'],
  INVALID_TXN_STATE: [48, false, 'the transactional operation is not valid in the current transaction state'],
  INVALID_PRODUCER_ID_MAPPING: [49, false, 'the producer id does not belong to this transactional id'],
  INVALID_TRANSACTION_TIMEOUT: [50, false, 'the transaction timeout exceeds transaction.max.timeout.ms'],
  CONCURRENT_TRANSACTIONS: [51, true, 'another operation on the same transaction is still in progress'],
  TRANSACTION_COORDINATOR_FENCED: [52, false, 'the transaction coordinator writing markers has been replaced'],
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: [53, false, 'not authorized to use the transactional id'],
  SECURITY_DISABLED: [54, false, 'security features are turned off on this broker'],
  OPERATION_NOT_ATTEMPTED: [55, false, 'skipped because another part of the same batched request failed'],
  KAFKA_STORAGE_ERROR: [56, true, 'the broker could not read or write the log directory'],
  LOG_DIR_NOT_FOUND: [57, false, 'the named log directory does not exist on the broker'],
  SASL_AUTHENTICATION_FAILED: [58, false, 'SASL authentication failed'],
  UNKNOWN_PRODUCER_ID: [59, false, 'the broker has no state for this producer id (it may have expired)'],
  REASSIGNMENT_IN_PROGRESS: [60, false, 'a partition reassignment is already running'],
  DELEGATION_TOKEN_AUTH_DISABLED: [61, false, 'delegation tokens are not enabled'],
  DELEGATION_TOKEN_NOT_FOUND: [62, false, 'no such delegation token'],
  DELEGATION_TOKEN_OWNER_MISMATCH: [63, false, 'the principal is neither owner nor renewer of the token'],
  DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: [64, false, 'delegation token requests need an authenticated non-token channel'],
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: [65, false, 'not authorized for this delegation token operation'],
  DELEGATION_TOKEN_EXPIRED: [66, false, 'the delegation token has expired'],
  INVALID_PRINCIPAL_TYPE: [67, false, 'the principal type is not supported'],
  NON_EMPTY_GROUP: [68, false, 'the group still has members, so it cannot be deleted'],
  GROUP_ID_NOT_FOUND: [69, false, 'no such group'],
  FETCH_SESSION_ID_NOT_FOUND: [70, true, 'the incremental fetch session is unknown to the broker'],
  INVALID_FETCH_SESSION_EPOCH: [71, true, 'the fetch session epoch does not match'],
  LISTENER_NOT_FOUND: [72, true, 'the leader has no endpoint for the listener the request came in on'],
  TOPIC_DELETION_DISABLED: [73, false, 'topic deletion is turned off (delete.topic.enable=false)'],
  FENCED_LEADER_EPOCH: [74, true, 'the leader epoch in the request is older than the broker\'s'],
  UNKNOWN_LEADER_EPOCH: [75, true, 'the leader epoch in the request is newer than the broker\'s'],
  UNSUPPORTED_COMPRESSION_TYPE: [76, false, 'the client cannot read the compression codec the data uses'],
  STALE_BROKER_EPOCH: [77, false, 'the broker epoch in the request is out of date'],
  OFFSET_NOT_AVAILABLE: [78, true, 'the leader cannot serve that offset yet (its high watermark is behind)'],
  MEMBER_ID_REQUIRED: [79, false, 'join again using the member id the coordinator just assigned'],
  PREFERRED_LEADER_NOT_AVAILABLE: [80, true, 'the preferred leader cannot take over the partition now'],
  GROUP_MAX_SIZE_REACHED: [81, false, 'the group is at group.max.size'],
  FENCED_INSTANCE_ID: [82, false, 'another member with the same group.instance.id replaced this one'],
  ELIGIBLE_LEADERS_NOT_AVAILABLE: [83, true, 'no replica is eligible to become leader'],
  ELECTION_NOT_NEEDED: [84, true, 'the partition already has the leader the election would pick'],
  NO_REASSIGNMENT_IN_PROGRESS: [85, false, 'there is no reassignment to cancel'],
  GROUP_SUBSCRIBED_TO_TOPIC: [86, false, 'the group still consumes the topic, so its offsets cannot be deleted'],
  INVALID_RECORD: [87, false, 'a record or batch breaks a rule the broker enforces (format, key, count)'],
  UNSTABLE_OFFSET_COMMIT: [88, true, 'a transactional offset commit for this partition is still pending'],
  THROTTLING_QUOTA_EXCEEDED: [89, true, 'the request would exceed a throttling quota'],
  PRODUCER_FENCED: [90, false, 'a newer producer with the same transactional id has taken over'],
  RESOURCE_NOT_FOUND: [91, false, 'the referenced resource does not exist'],
  DUPLICATE_RESOURCE: [92, false, 'the resource is listed more than once in the request'],
  UNACCEPTABLE_CREDENTIAL: [93, false, 'the credential does not meet the broker\'s requirements'],
  INCONSISTENT_VOTER_SET: [94, false, 'the voter sets of the quorum replicas disagree'],
  INVALID_UPDATE_VERSION: [95, false, 'the requested feature version update is not valid'],
  FEATURE_UPDATE_FAILED: [96, false, 'the controller could not apply the feature update'],
  PRINCIPAL_DESERIALIZATION_FAILURE: [97, false, 'the forwarded principal could not be decoded'],
  SNAPSHOT_NOT_FOUND: [98, false, 'no metadata snapshot with that id'],
  POSITION_OUT_OF_RANGE: [99, false, 'the position is outside the snapshot'],
  UNKNOWN_TOPIC_ID: [100, true, 'this broker does not know the topic id'],
  DUPLICATE_BROKER_REGISTRATION: [101, false, 'another broker with this id is already registered'],
  BROKER_ID_NOT_REGISTERED: [102, false, 'the broker id has not registered with the controller'],
  INCONSISTENT_TOPIC_ID: [103, true, 'the topic id does not match the one the broker has for that name'],
  INCONSISTENT_CLUSTER_ID: [104, false, 'the request belongs to a different cluster'],
  TRANSACTIONAL_ID_NOT_FOUND: [105, false, 'no such transactional id'],
  FETCH_SESSION_TOPIC_ID_ERROR: [106, true, 'the fetch session mixes topic ids and names inconsistently'],
  INELIGIBLE_REPLICA: [107, false, 'the new ISR includes a replica that may not join it'],
  NEW_LEADER_ELECTED: [108, false, 'the ISR change was dropped because a new leader was chosen'],
  OFFSET_MOVED_TO_TIERED_STORAGE: [109, false, 'the offset now lives only in tiered storage'],
  FENCED_MEMBER_EPOCH: [110, false, 'the member epoch is fenced; the member must rejoin with epoch 0'],
  UNRELEASED_INSTANCE_ID: [111, false, 'the static instance id is still held by another member'],
  UNSUPPORTED_ASSIGNOR: [112, false, 'the requested server-side assignor is not available'],
  STALE_MEMBER_EPOCH: [113, false, 'the member epoch is behind the group\'s; refresh and retry'],
  MISMATCHED_ENDPOINT_TYPE: [114, false, 'the request was sent to the wrong kind of endpoint (broker or controller)'],
  UNSUPPORTED_ENDPOINT_TYPE: [115, false, 'this kind of endpoint does not serve the request'],
  UNKNOWN_CONTROLLER_ID: [116, false, 'no controller with that id'],
  UNKNOWN_SUBSCRIPTION_ID: [117, false, 'the client telemetry subscription id is unknown'],
  TELEMETRY_TOO_LARGE: [118, false, 'the pushed client telemetry exceeds the size limit'],
  INVALID_REGISTRATION: [119, false, 'the controller rejected the broker registration'],
  TRANSACTION_ABORTABLE: [120, false, 'the transaction hit an error; abort it and start again'],
  INVALID_RECORD_STATE: [121, false, 'the share-group record is not in a state that allows the acknowledgement'],
  SHARE_SESSION_NOT_FOUND: [122, true, 'the share session is unknown to the broker'],
  INVALID_SHARE_SESSION_EPOCH: [123, true, 'the share session epoch does not match'],
  FENCED_STATE_EPOCH: [124, false, 'the share-group state epoch is out of date'],
  INVALID_VOTER_KEY: [125, false, 'the voter key does not match this replica'],
  DUPLICATE_VOTER: [126, false, 'the voter is already in the voter set'],
  VOTER_NOT_FOUND: [127, false, 'the voter is not in the voter set'],
  INVALID_REGULAR_EXPRESSION: [128, false, 'the subscription regular expression does not compile'],
  REBOOTSTRAP_REQUIRED: [129, false, 'the client metadata is too stale; reconnect through the bootstrap servers'],
  STREAMS_INVALID_TOPOLOGY: [130, false, 'the streams topology is not valid'],
  STREAMS_INVALID_TOPOLOGY_EPOCH: [131, false, 'the streams topology epoch is not valid'],
  STREAMS_TOPOLOGY_FENCED: [132, false, 'the streams topology epoch is out of date'],
  SHARE_SESSION_LIMIT_REACHED: [133, true, 'the broker has no room for another share session'],
} as const;

export type ErrorName = keyof typeof TABLE;

export interface ErrorInfo {
  readonly name: ErrorName;
  readonly code: number;
  readonly retriable: boolean;
  readonly meaning: string;
}

/** `ErrorCode.CORRUPT_MESSAGE === 2`; the literal types let switches narrow. */
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.entries(TABLE).map(([name, [code]]) => [name, code])),
) as { readonly [K in ErrorName]: (typeof TABLE)[K][0] };

const BY_CODE = new Map<number, ErrorInfo>();
const BY_NAME = new Map<string, ErrorInfo>();
for (const [name, [code, retriable, meaning]] of Object.entries(TABLE)) {
  const info: ErrorInfo = Object.freeze({ name: name as ErrorName, code, retriable, meaning });
  BY_CODE.set(code, info);
  BY_NAME.set(name, info);
}

/** Every known error, ordered by code. */
export const ALL_ERRORS: readonly ErrorInfo[] = Object.freeze([...BY_CODE.values()].sort((a, b) => a.code - b.code));

/** The error with this code, or undefined for a code this table does not know. */
export function errorByCode(code: number): ErrorInfo | undefined {
  return BY_CODE.get(code);
}

export function errorByName(name: string): ErrorInfo | undefined {
  return BY_NAME.get(name);
}

/** Kafka's name for a code, or `UNKNOWN_ERROR_CODE(<n>)` for codes from a newer peer. */
export function errorName(code: number): string {
  return BY_CODE.get(code)?.name ?? `UNKNOWN_ERROR_CODE(${code})`;
}

/**
 * An error that maps to a Kafka error code: thrown inside the broker where the
 * response must carry that code, and by the client when a broker answers with
 * one. `message` leads with the Kafka name so logs read like the Java client's.
 */
export class KafkaError extends Error {
  override name = 'KafkaError';
  readonly code: number;
  /** Kafka's name for the code, e.g. CORRUPT_MESSAGE. */
  readonly errorName: string;
  readonly retriable: boolean;
  /** The message without the name: what goes into a response's error_message field. */
  readonly detail: string;

  constructor(code: number, detail?: string, options?: { cause?: unknown }) {
    const info = BY_CODE.get(code);
    const errorName = info?.name ?? `UNKNOWN_ERROR_CODE(${code})`;
    const text = detail ?? info?.meaning ?? 'no description';
    super(`${errorName}: ${text}`, options);
    this.detail = text;
    this.code = code;
    this.errorName = errorName;
    this.retriable = info?.retriable ?? false;
  }
}
