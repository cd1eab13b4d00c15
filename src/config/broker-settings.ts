/**
 * Every broker setting Ganglion understands: Kafka's name, type, default,
 * validation, importance and dynamic update mode, with a one-line meaning.
 *
 * Defaults are Kafka 3.9's, the last release line with ZooKeeper mode (which
 * Ganglion's cluster design follows, and the version of the protocol specs we
 * build from). Where Kafka 4.0 changed a default it is noted next to it.
 *
 * Nothing outside src/config may restate a default: read the setting from a
 * BrokerConfig (or a TopicConfig) instead.
 */

import {
  INT_MAX,
  LONG_MAX,
  DOUBLE_MAX,
  atLeast,
  between,
  bool,
  custom,
  defineSettings,
  double,
  int,
  klass,
  list,
  long,
  oneOf,
  listOf,
  password,
  short,
  str,
  type ValueOf,
} from './setting.js';

/** Kafka's broker-side compression choices ("producer" keeps what the producer sent). */
export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;
export const CLEANUP_POLICIES = ['compact', 'delete'] as const;
export const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime'] as const;
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;

export const gzipLevel = custom('[1,...,9] or -1', (v) => {
  const n = v as number;
  return n === -1 || (n >= 1 && n <= 9);
});

export const BROKER_SETTINGS = defineSettings({
  // ---- identity -------------------------------------------------------------
  'broker.id': int(-1, 'Numeric id of this broker, unique in the cluster; -1 lets the cluster assign one.', {
    importance: 'high',
  }),
  'node.id': int(-1, 'Alias of broker.id; when both are set they must agree.', { importance: 'high' }),
  'broker.rack': str(null, 'Rack or zone label of this broker, used to spread replicas across failure domains.'),
  'broker.id.generation.enable': bool(true, 'Let the cluster hand out a broker id when broker.id is -1.'),
  'reserved.broker.max.id': int(1000, 'Largest broker id an operator may choose; generated ids start above it.', {
    validator: atLeast(0),
  }),

  // ---- network --------------------------------------------------------------
  listeners: str(
    'PLAINTEXT://:9092',
    'Comma-separated NAME://host:port addresses to accept connections on; an empty host means every interface.',
    {
      importance: 'high',
      mode: 'per-broker',
    },
  ),
  'advertised.listeners': str(null, 'Addresses handed to clients and other brokers in metadata; defaults to listeners.', {
    importance: 'high',
    mode: 'per-broker',
  }),
  'listener.security.protocol.map': str(
    'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'NAME:PROTOCOL pairs giving the security protocol of each listener name.',
    { importance: 'low', mode: 'per-broker' },
  ),
  'inter.broker.listener.name': str(
    null,
    'Listener brokers use to talk to each other; if unset it follows security.inter.broker.protocol.',
  ),
  'security.inter.broker.protocol': str(
    'PLAINTEXT',
    'Security protocol between brokers when no inter-broker listener name is given.',
    {
      validator: oneOf(...SECURITY_PROTOCOLS),
    },
  ),
  'num.network.threads': int(3, 'Threads per listener that read requests and write responses.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),
  'num.io.threads': int(8, 'Threads that run request handlers, including their disk work.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),
  'background.threads': int(10, 'Threads for housekeeping tasks such as retention and checkpoints.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),
  'socket.send.buffer.bytes': int(102400, 'SO_SNDBUF of client sockets; -1 keeps the operating system default.', {
    importance: 'high',
  }),
  'socket.receive.buffer.bytes': int(102400, 'SO_RCVBUF of client sockets; -1 keeps the operating system default.', {
    importance: 'high',
  }),
  'socket.request.max.bytes': int(104857600, 'Largest request frame accepted; bigger frames close the connection.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'socket.listen.backlog.size': int(50, 'Pending-connection queue length of each listening socket.', { validator: atLeast(1) }),
  'queued.max.requests': int(500, 'Requests that may wait for a handler before the broker stops reading sockets.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'queued.max.request.bytes': long(-1, 'Bytes of queued requests allowed before reading pauses; -1 means no byte limit.'),
  'connections.max.idle.ms': long(600000, 'Close a connection after it has been idle this long.'),
  'connection.failed.authentication.delay.ms': int(100, 'Delay before closing a connection whose authentication failed.', {
    importance: 'low',
    validator: atLeast(0),
  }),
  'max.connections': int(INT_MAX, 'Most client connections the broker holds at once.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'max.connections.per.ip': int(INT_MAX, 'Most connections accepted from one address.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'max.connections.per.ip.overrides': str('', 'Per-host exceptions to max.connections.per.ip, as host:count pairs.', {
    mode: 'cluster-wide',
  }),
  'max.connection.creation.rate': int(INT_MAX, 'Most new connections accepted per second.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),

  // ---- security (only what listeners need to be described) ----------------
  'sasl.enabled.mechanisms': list(['GSSAPI'], 'SASL mechanisms the broker offers to clients.', { mode: 'per-broker' }),
  'sasl.mechanism.inter.broker.protocol': str('GSSAPI', 'SASL mechanism brokers use with each other.', { mode: 'per-broker' }),
  'ssl.client.auth': str('none', 'Whether TLS clients must, may or need not present a certificate.', {
    mode: 'per-broker',
    validator: oneOf('required', 'requested', 'none'),
  }),
  'ssl.keystore.type': str('JKS', 'Format of the key store file.', { mode: 'per-broker' }),
  'ssl.keystore.location': str(null, 'Path of the key store holding the broker certificate.', { mode: 'per-broker' }),
  'ssl.keystore.password': password('Password of the key store.', { mode: 'per-broker' }),
  'ssl.key.password': password('Password of the private key inside the key store.', { mode: 'per-broker' }),
  'ssl.truststore.type': str('JKS', 'Format of the trust store file.', { mode: 'per-broker' }),
  'ssl.truststore.location': str(null, 'Path of the trust store with the certificates to trust.', { mode: 'per-broker' }),
  'ssl.truststore.password': password('Password of the trust store.', { mode: 'per-broker' }),
  'authorizer.class.name': str('', 'Authorizer implementation; empty means every request is allowed.', { importance: 'low' }),
  'create.topic.policy.class.name': klass(null, 'Policy consulted before a topic is created.', { importance: 'low' }),
  'alter.config.policy.class.name': klass(null, 'Policy consulted before configs are altered.', { importance: 'low' }),

  // ---- topics and requests --------------------------------------------------
  'auto.create.topics.enable': bool(
    true,
    'Create a topic when a client asks for metadata or produces to one that does not exist.',
    {
      importance: 'high',
    },
  ),
  'delete.topic.enable': bool(true, 'Allow topics to be deleted; when false, delete requests are refused.', {
    importance: 'high',
  }),
  'num.partitions': int(1, 'Partition count of topics created without an explicit count.', { validator: atLeast(1) }),
  'default.replication.factor': int(1, 'Replication factor of automatically created topics.'),
  'min.insync.replicas': int(1, 'Replicas that must have a write before an acks=all produce succeeds.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),
  'message.max.bytes': int(1048588, 'Largest record batch a topic accepts (after compression).', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'compression.type': str('producer', 'Codec batches are stored with; "producer" keeps the codec the producer used.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: oneOf(...COMPRESSION_TYPES),
  }),
  'compression.gzip.level': int(-1, 'gzip level used when the broker recompresses with gzip.', {
    mode: 'cluster-wide',
    validator: gzipLevel,
  }),
  'compression.lz4.level': int(9, 'lz4 level used when the broker recompresses with lz4.', {
    mode: 'cluster-wide',
    validator: between(1, 17),
  }),
  'compression.zstd.level': int(3, 'zstd level used when the broker recompresses with zstd.', {
    mode: 'cluster-wide',
    validator: between(-131072, 22),
  }),
  'fetch.max.bytes': int(57671680, 'Upper bound on the bytes one fetch response carries.', { validator: atLeast(1024) }),
  'max.incremental.fetch.session.cache.slots': int(1000, 'Incremental fetch sessions kept per broker.', {
    validator: atLeast(0),
  }),

  // ---- log storage ----------------------------------------------------------
  'log.dirs': str(null, 'Comma-separated data directories; when unset, log.dir is used.', { importance: 'high' }),
  'log.dir': str('/tmp/kafka-logs', 'Single data directory, used only when log.dirs is unset.', { importance: 'high' }),
  'log.segment.bytes': int(1073741824, 'Size at which the active segment file is closed and a new one started.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(14), // Kafka 4.0 raises the floor to 1 MiB
  }),
  'log.roll.ms': long(null, 'Age in ms after which a new segment is started; overrides log.roll.hours.', {
    importance: 'high',
    mode: 'cluster-wide',
  }),
  'log.roll.hours': int(168, 'Age in hours after which a new segment is started, unless log.roll.ms is set.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'log.roll.jitter.ms': long(
    null,
    'Random amount in ms taken off the roll time so segments do not all roll together; overrides the hours form.',
    {
      importance: 'high',
      mode: 'cluster-wide',
    },
  ),
  'log.roll.jitter.hours': int(0, 'Random amount in hours taken off the roll time, unless log.roll.jitter.ms is set.', {
    importance: 'high',
    validator: atLeast(0),
  }),
  'log.retention.ms': long(null, 'How long records are kept, in ms; wins over minutes and hours; -1 keeps them forever.', {
    importance: 'high',
    mode: 'cluster-wide',
  }),
  'log.retention.minutes': int(null, 'How long records are kept, in minutes, when log.retention.ms is unset.', {
    importance: 'high',
  }),
  'log.retention.hours': int(168, 'How long records are kept, in hours, when neither ms nor minutes is set.', {
    importance: 'high',
  }),
  'log.retention.bytes': long(-1, 'Size a partition may reach before old segments are deleted; -1 means no size limit.', {
    importance: 'high',
    mode: 'cluster-wide',
  }),
  'log.retention.check.interval.ms': long(300000, 'How often the retention task looks for segments to delete.', {
    validator: atLeast(1),
  }),
  'log.cleanup.policy': list(['delete'], 'What happens to old segments: delete them, compact them by key, or both.', {
    mode: 'cluster-wide',
    validator: listOf(...CLEANUP_POLICIES),
  }),
  'log.index.size.max.bytes': int(10485760, 'Largest size of an offset index file.', {
    mode: 'cluster-wide',
    validator: atLeast(4),
  }),
  'log.index.interval.bytes': int(4096, 'Bytes of log between two offset index entries.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'log.flush.interval.messages': long(LONG_MAX, 'Records written to a partition between forced fsyncs.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),
  'log.flush.interval.ms': long(
    null,
    'Longest a record waits before an fsync; when unset, log.flush.scheduler.interval.ms applies.',
    {
      importance: 'high',
      mode: 'cluster-wide',
    },
  ),
  'log.flush.scheduler.interval.ms': long(LONG_MAX, 'How often the flusher checks whether any log is due for an fsync.', {
    importance: 'high',
  }),
  'log.flush.offset.checkpoint.interval.ms': int(60000, 'How often the recovery point checkpoint is written.', {
    importance: 'high',
    validator: atLeast(0),
  }),
  'log.flush.start.offset.checkpoint.interval.ms': int(60000, 'How often the log start offset checkpoint is written.', {
    importance: 'high',
    validator: atLeast(0),
  }),
  'log.segment.delete.delay.ms': long(60000, 'Grace period between retiring a segment and removing its files.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'log.preallocate': bool(false, 'Reserve the full segment size on disk when a segment is created.', { mode: 'cluster-wide' }),
  'log.message.timestamp.type': str(
    'CreateTime',
    "Whether stored timestamps are the producer's (CreateTime) or the broker's append time.",
    {
      mode: 'cluster-wide',
      validator: oneOf(...TIMESTAMP_TYPES),
    },
  ),
  'log.message.timestamp.before.max.ms': long(
    LONG_MAX,
    'How far in the past a CreateTime timestamp may be before the batch is rejected.',
    {
      mode: 'cluster-wide',
      validator: atLeast(0),
    },
  ),
  'log.message.timestamp.after.max.ms': long(
    LONG_MAX,
    'How far in the future a CreateTime timestamp may be before the batch is rejected.',
    {
      mode: 'cluster-wide',
      validator: atLeast(0), // Kafka 4.0 default: 3600000
    },
  ),
  'num.recovery.threads.per.data.dir': int(1, 'Threads per data directory for recovery at start-up and flushing at shutdown.', {
    importance: 'high',
    mode: 'cluster-wide',
    validator: atLeast(1), // Kafka 4.0 default: 2
  }),

  // ---- log cleaner (compaction) --------------------------------------------
  'log.cleaner.enable': bool(true, 'Run the cleaner that compacts topics with cleanup.policy=compact.'),
  'log.cleaner.threads': int(1, 'Threads that compact logs.', { mode: 'cluster-wide', validator: atLeast(0) }),
  'log.cleaner.io.max.bytes.per.second': double(DOUBLE_MAX, "Throttle on the cleaner's combined read and write rate.", {
    mode: 'cluster-wide',
  }),
  'log.cleaner.dedupe.buffer.size': long(134217728, 'Memory shared by cleaner threads for the key-offset map.', {
    mode: 'cluster-wide',
  }),
  'log.cleaner.io.buffer.size': int(524288, 'Memory shared by cleaner threads for read and write buffers.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'log.cleaner.io.buffer.load.factor': double(0.9, 'How full the key-offset map may get before a cleaning pass stops.', {
    mode: 'cluster-wide',
  }),
  'log.cleaner.backoff.ms': long(15000, 'Sleep between cleaner passes when nothing needs cleaning.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'log.cleaner.min.cleanable.ratio': double(0.5, 'Share of a log that must be uncompacted before it is worth compacting.', {
    mode: 'cluster-wide',
    validator: between(0, 1),
  }),
  'log.cleaner.delete.retention.ms': long(86400000, 'How long tombstones survive in a compacted log.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'log.cleaner.min.compaction.lag.ms': long(0, 'Minimum age of a record before compaction may remove it.', {
    mode: 'cluster-wide',
    validator: atLeast(0),
  }),
  'log.cleaner.max.compaction.lag.ms': long(LONG_MAX, 'Maximum time a record may stay uncompacted.', {
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),

  // ---- replication ----------------------------------------------------------
  'unclean.leader.election.enable': bool(
    false,
    'Allow an out-of-sync replica to become leader as a last resort, at the risk of losing data.',
    {
      importance: 'high',
      mode: 'cluster-wide',
    },
  ),
  'auto.leader.rebalance.enable': bool(true, "Periodically move leadership back to each partition's preferred replica.", {
    importance: 'high',
  }),
  'leader.imbalance.check.interval.seconds': long(300, 'How often the controller checks leader balance.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'leader.imbalance.per.broker.percentage': int(10, 'Share of misplaced leaders on a broker that triggers a rebalance.', {
    importance: 'high',
  }),
  'replica.lag.time.max.ms': long(30000, 'A follower that has not caught up within this time is dropped from the ISR.', {
    importance: 'high',
  }),
  'replica.fetch.max.bytes': int(1048576, 'Bytes a follower asks for per partition in one fetch.', { validator: atLeast(0) }),
  'replica.fetch.response.max.bytes': int(10485760, 'Bytes a follower asks for in one whole fetch response.', {
    validator: atLeast(0),
  }),
  'replica.fetch.wait.max.ms': int(500, 'How long a follower fetch may wait on the leader for data.', { importance: 'high' }),
  'replica.fetch.min.bytes': int(1, 'Bytes a follower fetch waits for before the leader answers.', { importance: 'high' }),
  'replica.fetch.backoff.ms': int(1000, 'Pause before a follower retries after a fetch error.', { validator: atLeast(0) }),
  'num.replica.fetchers': int(1, 'Fetcher threads per source broker used by followers.', {
    importance: 'high',
    mode: 'cluster-wide',
  }),
  'replica.socket.timeout.ms': int(30000, 'Socket timeout of follower fetch connections; at least replica.fetch.wait.max.ms.', {
    importance: 'high',
  }),
  'replica.socket.receive.buffer.bytes': int(65536, 'SO_RCVBUF of follower fetch connections.', { importance: 'high' }),
  'replica.high.watermark.checkpoint.interval.ms': long(5000, 'How often high watermarks are saved to disk.', {
    importance: 'high',
  }),
  'controller.socket.timeout.ms': int(30000, 'Socket timeout of controller-to-broker connections.'),
  'request.timeout.ms': int(30000, 'How long a broker waits for the answer to its own requests to other brokers (transaction markers).', {
    validator: atLeast(0),
  }),
  'controlled.shutdown.enable': bool(true, 'Move leadership away from a broker before it shuts down.'),
  'controlled.shutdown.max.retries': int(3, 'Attempts at a controlled shutdown before shutting down anyway.'),
  'controlled.shutdown.retry.backoff.ms': long(5000, 'Pause between controlled shutdown attempts.'),

  // ---- ZooKeeper (cluster mode) --------------------------------------------
  'zookeeper.connect': str(
    null,
    'ZooKeeper ensemble as host:port[,host:port...][/chroot]; unset runs the embedded single-node controller.',
    {
      importance: 'high',
    },
  ),
  'zookeeper.session.timeout.ms': int(18000, 'ZooKeeper session timeout; a broker silent this long loses its registration.', {
    importance: 'high',
  }),
  'zookeeper.connection.timeout.ms': int(null, 'How long to wait for a ZooKeeper connection; when unset, the session timeout.', {
    importance: 'high',
  }),
  'zookeeper.max.in.flight.requests': int(10, 'Unanswered ZooKeeper requests allowed before the client blocks.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'zookeeper.set.acl': bool(false, 'Create ZooKeeper nodes with secure ACLs.', { importance: 'high' }),

  // ---- group coordinator and offsets ----------------------------------------
  'offsets.topic.num.partitions': int(50, 'Partitions of __consumer_offsets; fixed once the topic exists.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offsets.topic.replication.factor': short(3, 'Replication factor of __consumer_offsets.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offsets.topic.segment.bytes': int(104857600, 'Segment size of __consumer_offsets, kept small for fast loading.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offsets.topic.compression.codec': int(0, 'Codec id used for records written to __consumer_offsets (0 = none).', {
    importance: 'high',
  }),
  'offsets.load.buffer.size': int(5242880, 'Read size used when loading a group partition into memory.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offsets.retention.minutes': int(10080, 'How long committed offsets of an empty group are kept.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offsets.retention.check.interval.ms': long(600000, 'How often expired offsets are looked for.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offsets.commit.timeout.ms': int(5000, 'How long an offset commit may wait for its write to replicate.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'offset.metadata.max.bytes': int(4096, 'Largest metadata string allowed with a committed offset.', { importance: 'high' }),
  'group.initial.rebalance.delay.ms': int(3000, 'Wait for more members before the first rebalance of a new group.'),
  'group.min.session.timeout.ms': int(6000, 'Smallest session timeout a consumer may ask for.'),
  'group.max.session.timeout.ms': int(1800000, 'Largest session timeout a consumer may ask for.'),
  'group.max.size': int(INT_MAX, 'Most members one consumer group may have.', { validator: atLeast(1) }),

  // ---- transactions and producer ids ---------------------------------------
  'transaction.state.log.num.partitions': int(50, 'Partitions of __transaction_state.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transaction.state.log.replication.factor': short(3, 'Replication factor of __transaction_state.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transaction.state.log.min.isr': int(2, 'min.insync.replicas of __transaction_state.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transaction.state.log.segment.bytes': int(104857600, 'Segment size of __transaction_state.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transaction.state.log.load.buffer.size': int(5242880, 'Read size used when loading transaction state.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transaction.max.timeout.ms': int(900000, 'Longest transaction timeout a producer may ask for.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transactional.id.expiration.ms': int(604800000, 'Forget a transactional id after it has been idle this long.', {
    importance: 'high',
    validator: atLeast(1),
  }),
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': int(
    10000,
    'How often transactions past their timeout are aborted.',
    {
      importance: 'low',
      validator: atLeast(1),
    },
  ),
  'transaction.remove.expired.transaction.cleanup.interval.ms': int(3600000, 'How often expired transactional ids are removed.', {
    importance: 'low',
    validator: atLeast(1),
  }),
  'transaction.partition.verification.enable': bool(
    true,
    'Check that a partition joined the transaction before accepting transactional writes.',
    {
      importance: 'low',
      mode: 'cluster-wide',
    },
  ),
  'producer.id.expiration.ms': int(86400000, "Forget an idle producer id's sequence state after this long.", {
    importance: 'low',
    mode: 'cluster-wide',
    validator: atLeast(1),
  }),
  'producer.id.expiration.check.interval.ms': int(600000, 'How often expired producer ids are looked for.', {
    importance: 'low',
    validator: atLeast(1),
  }),
});

export type BrokerSettings = typeof BROKER_SETTINGS;
export type BrokerSettingName = keyof BrokerSettings;
/** The type `config.get(name)` returns for a broker setting. */
export type BrokerSettingValue<K extends BrokerSettingName> = ValueOf<BrokerSettings[K]>;
