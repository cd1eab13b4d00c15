/**
 * `ganglion topics`, the counterpart of kafka-topics.sh: create, list,
 * describe, alter (partition count) and delete topics, with Kafka's flags,
 * checks and output. `--zookeeper` instead of `--bootstrap-server` is the
 * seeds' older form: the tool then works on ZooKeeper's nodes directly
 * (topics-zookeeper.ts).
 */
import {
  Admin,
  ErrorCode,
  KafkaError,
  TimeoutError,
  UnsupportedVersionError,
  type ConfigEntry,
  type PartitionReassignment,
  type TopicDescription,
} from '../client/index.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { zookeeperTopics } from './topics-zookeeper.js';
import {
  CliError,
  clientSettings,
  collect,
  conflict,
  includeList,
  intArg,
  isInternalTopic,
  newCommand,
  parseArgs,
  processIo,
  requireOptions,
  runTool,
  type CliIo,
} from './common.js';

interface TopicsOptions {
  bootstrapServer?: string;
  zookeeper?: string;
  commandConfig?: string;
  list?: boolean;
  create?: boolean;
  delete?: boolean;
  alter?: boolean;
  describe?: boolean;
  topic?: string;
  topicId?: string;
  config?: string[];
  deleteConfig?: string[];
  partitions?: number;
  replicationFactor?: number;
  replicaAssignment?: string;
  underReplicatedPartitions?: boolean;
  unavailablePartitions?: boolean;
  underMinIsrPartitions?: boolean;
  atMinIsrPartitions?: boolean;
  topicsWithOverrides?: boolean;
  ifExists?: boolean;
  ifNotExists?: boolean;
  excludeInternal?: boolean;
  partitionSizeLimitPerResponse?: number;
}

const ACTIONS = ['create', 'list', 'alter', 'describe', 'delete'] as const;
const REPORTS = ['underReplicatedPartitions', 'unavailablePartitions', 'underMinIsrPartitions', 'atMinIsrPartitions'] as const;
const FLAG: Record<string, string> = {
  underReplicatedPartitions: 'under-replicated-partitions',
  unavailablePartitions: 'unavailable-partitions',
  underMinIsrPartitions: 'under-min-isr-partitions',
  atMinIsrPartitions: 'at-min-isr-partitions',
  topicsWithOverrides: 'topics-with-overrides',
  replicationFactor: 'replication-factor',
  replicaAssignment: 'replica-assignment',
  ifExists: 'if-exists',
  ifNotExists: 'if-not-exists',
  excludeInternal: 'exclude-internal',
};
const flag = (attribute: string): string => FLAG[attribute] ?? attribute;

export async function topics(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'topics', () => runTopics(argv, io), 'Error while executing topic command : ');
}

async function runTopics(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'topics', 'Create, delete, describe, or change a topic (kafka-topics.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: The Kafka server to connect to.')
    .option('--zookeeper <hosts>', 'Instead of --bootstrap-server: work on the cluster\'s ZooKeeper nodes (host:port[,host:port...][/chroot]).')
    .option('--command-config <file>', 'Property file containing configs to be passed to the admin client.')
    .option('--list', 'List all available topics.')
    .option('--create', 'Create a new topic.')
    .option('--delete', 'Delete a topic.')
    .option('--alter', 'Alter the number of partitions and replica assignment (topic configs: ganglion configs).')
    .option('--describe', 'List details for the given topics.')
    .option('--topic <topic>', 'The topic to create, alter, describe or delete. A regular expression, except with --create.')
    .option('--topic-id <id>', 'The topic id to describe.')
    .option('--config <name=value>', 'A topic configuration override for the topic being created (repeatable).', collect)
    .option('--delete-config <name>', 'No longer supported (since Kafka 4.0); use ganglion configs.', collect)
    .option('--partitions <n>', 'The number of partitions for the topic being created or altered.', intArg)
    .option('--replication-factor <n>', 'The replication factor for each partition of the topic being created.', intArg)
    .option('--replica-assignment <list>', 'Manual partition-to-broker assignments: b1:b2,b3:b4 (one entry per partition).')
    .option('--under-replicated-partitions', 'With --describe, only show under-replicated partitions.')
    .option('--unavailable-partitions', 'With --describe, only show partitions whose leader is not available.')
    .option('--under-min-isr-partitions', 'With --describe, only show partitions whose ISR is smaller than min.insync.replicas.')
    .option('--at-min-isr-partitions', 'With --describe, only show partitions whose ISR equals min.insync.replicas.')
    .option('--topics-with-overrides', 'With --describe, only show topics that have overridden configs.')
    .option('--if-exists', 'With --alter, --delete or --describe, only act if the topic exists.')
    .option('--if-not-exists', 'With --create, do not fail if the topic already exists.')
    .option('--exclude-internal', 'Exclude internal topics when listing or describing topics.')
    .option('--partition-size-limit-per-response <n>', 'Accepted for compatibility; ignored.', intArg);
  const opts = parseArgs<TopicsOptions>(program, argv);
  checkArgs(opts, io);
  if (opts.zookeeper !== undefined) {
    await zookeeperTopics(
      {
        ...opts,
        zookeeper: opts.zookeeper,
        replicaAssignment: opts.replicaAssignment ? parseReplicaAssignment(opts.replicaAssignment) : undefined,
        configs: parseTopicConfigs(opts.config),
      },
      io,
    );
    return 0;
  }

  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': opts.bootstrapServer });
  const admin = new Admin(settings);
  try {
    if (opts.create) await createTopic(admin, opts, io);
    else if (opts.alter) await alterTopic(admin, opts);
    else if (opts.list) await listTopics(admin, opts, io);
    else if (opts.describe) await describeTopics(admin, opts, io);
    else await deleteTopic(admin, opts);
    return 0;
  } finally {
    await admin.close();
  }
}

function checkArgs(opts: TopicsOptions, io: CliIo): void {
  const actions = ACTIONS.filter((a) => opts[a]);
  if (actions.length !== 1) {
    throw new CliError('Command must include exactly one action: --list, --describe, --create, --alter or --delete');
  }
  if (opts.deleteConfig !== undefined) {
    io.stderr.write('delete-config option is no longer supported and deprecated since version 4.0. The config will be fully removed in future releases.\n');
  }
  if (opts.bootstrapServer !== undefined && opts.zookeeper !== undefined) {
    throw new CliError('Only one of --bootstrap-server or --zookeeper must be specified');
  }
  if (opts.bootstrapServer === undefined && opts.zookeeper === undefined) throw new CliError('--bootstrap-server must be specified');
  if (opts.zookeeper !== undefined) {
    for (const attribute of ['underMinIsrPartitions', 'atMinIsrPartitions', 'topicsWithOverrides'] as const) {
      if (opts[attribute]) throw new CliError(`--${flag(attribute)} needs --bootstrap-server`);
    }
    if (opts.alter) throw new CliError('--alter needs --bootstrap-server (CreatePartitions); --zookeeper supports --create, --list, --describe and --delete');
    // Kafka's ZooKeeper-mode tool needed explicit counts: there is no broker to supply its defaults.
    if (opts.create && opts.replicaAssignment === undefined) {
      if (opts.partitions === undefined) throw new CliError('Missing required argument "[partitions]"');
      if (opts.replicationFactor === undefined) throw new CliError('Missing required argument "[replication-factor]"');
    }
  }
  if (opts.describe && opts.ifExists && opts.topic === undefined && opts.topicId === undefined) {
    throw new CliError('--topic or --topic-id is required to describe a topic');
  }
  if (!opts.list && !opts.describe && opts.topic === undefined) throw new CliError('Missing required argument "[topic]"');
  if (opts.alter) {
    if (opts.config !== undefined) {
      throw new CliError('Option "[alter]" can\'t be used with option "[config]" (To alter topic configurations, use ganglion configs.)');
    }
    if (opts.partitions === undefined) throw new CliError('Missing required argument "[partitions]"');
  }
  const only = (attribute: keyof TopicsOptions, allowed: readonly string[], also: readonly (keyof TopicsOptions)[] = []) => {
    if (opts[attribute] === undefined) return;
    for (const other of [...ACTIONS.filter((a) => !allowed.includes(a)), ...also]) {
      if (opts[other] !== undefined && opts[other] !== false) throw conflict(flag(attribute), flag(other));
    }
  };
  only('config', ['alter', 'create']);
  only('partitions', ['alter', 'create']);
  only('replicationFactor', ['create']);
  only('replicaAssignment', ['alter', 'create']);
  if (opts.create && opts.replicaAssignment !== undefined) {
    if (opts.partitions !== undefined) throw conflict('replica-assignment', 'partitions');
    if (opts.replicationFactor !== undefined) throw conflict('replica-assignment', 'replication-factor');
  }
  for (const report of REPORTS) only(report, ['describe'], ['topicsWithOverrides']);
  only('topicsWithOverrides', ['describe'], REPORTS);
  only('ifExists', ['alter', 'delete', 'describe']);
  only('ifNotExists', ['create']);
  only('excludeInternal', ['list', 'describe']);
}

/** `--replica-assignment 0:1,1:2`: replicas per partition, in partition order. */
export function parseReplicaAssignment(text: string): number[][] {
  const result: number[][] = [];
  for (const [i, part] of text.split(',').entries()) {
    const brokers = part.split(':').map((s) => {
      const n = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(n)) throw new CliError(`Invalid --replica-assignment '${text}': '${s}' is not a broker id`);
      return n;
    });
    const duplicates = [...new Set(brokers.filter((b, j) => brokers.indexOf(b) !== j))];
    if (duplicates.length > 0) {
      throw new CliError(`Partition replica lists may not contain duplicate entries: ${duplicates.join(',')}`);
    }
    if (result.length > 0 && brokers.length !== result[0]!.length) {
      throw new CliError(`Partition ${i} has different replication factor: [${brokers.join(', ')}]`);
    }
    result.push(brokers);
  }
  return result;
}

function parseTopicConfigs(pairs: readonly string[] | undefined): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const parts = pair.split(/\s*=\s*/);
    if (parts.length !== 2) {
      throw new CliError('requirement failed: Invalid topic config: all configs to be added must be in the format "key=val".');
    }
    configs[parts[0]!.trim()] = parts[1]!.trim();
  }
  return configs;
}

async function createTopic(admin: Admin, opts: TopicsOptions, io: CliIo): Promise<void> {
  const name = opts.topic!;
  const assignment = opts.replicaAssignment ? parseReplicaAssignment(opts.replicaAssignment) : undefined;
  const configs = parseTopicConfigs(opts.config);
  if (name.includes('.') || name.includes('_')) {
    io.stdout.write(
      "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n",
    );
  }
  if (opts.replicationFactor !== undefined && (opts.replicationFactor < 1 || opts.replicationFactor > 32767)) {
    throw new CliError('The replication factor must be between 1 and 32767 inclusive');
  }
  if (opts.partitions !== undefined && opts.partitions < 1) throw new CliError('The partitions must be greater than 0');
  try {
    await admin.createTopics([
      assignment !== undefined
        ? { topic: name, replicaAssignment: assignment, configs }
        : { topic: name, numPartitions: opts.partitions ?? -1, replicationFactor: opts.replicationFactor ?? -1, configs },
    ]);
    io.stdout.write(`Created topic ${name}.\n`);
  } catch (error) {
    if (opts.ifNotExists && error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS) return;
    throw error;
  }
}

/** Topic names matching `--topic` (a regular expression; all topics without it), sorted. */
async function matchingTopics(admin: Admin, opts: TopicsOptions): Promise<string[]> {
  const all = await admin.listTopics({ listInternal: !opts.excludeInternal });
  const filtered = all.filter((t) => !(opts.excludeInternal && isInternalTopic(t)));
  if (opts.topic === undefined) return filtered;
  const pattern = includeList(opts.topic);
  return filtered.filter((t) => pattern.test(t));
}

function ensureFound(found: readonly string[], opts: TopicsOptions): void {
  if (opts.topic !== undefined && opts.topic !== '' && !opts.ifExists && found.length === 0) {
    throw new CliError(`Topic '${opts.topic}' does not exist as expected`);
  }
}

async function listTopics(admin: Admin, opts: TopicsOptions, io: CliIo): Promise<void> {
  const names = await matchingTopics(admin, opts);
  io.stdout.write(`${names.join('\n')}\n`);
}

async function alterTopic(admin: Admin, opts: TopicsOptions): Promise<void> {
  const names = await matchingTopics(admin, opts);
  ensureFound(names, opts);
  if (names.length === 0) return;
  const assignment = opts.replicaAssignment ? parseReplicaAssignment(opts.replicaAssignment) : undefined;
  const current = assignment !== undefined ? await admin.describeTopics(names) : [];
  await admin.createPartitions(
    names.map((topic) => {
      if (assignment === undefined) return { topic, count: opts.partitions! };
      const existing = current.find((d) => d.topic === topic)?.partitions.length ?? 0;
      return { topic, count: opts.partitions!, assignments: assignment.slice(existing) };
    }),
  );
}

async function deleteTopic(admin: Admin, opts: TopicsOptions): Promise<void> {
  const names = await matchingTopics(admin, opts);
  ensureFound(names, opts);
  if (names.length > 0) await admin.deleteTopics(names);
}

function configValue(entries: readonly ConfigEntry[], name: string): string | null {
  return entries.find((e) => e.name === name)?.value ?? null;
}

async function describeTopics(admin: Admin, opts: TopicsOptions, io: CliIo): Promise<void> {
  let names: string[];
  if (opts.topicId !== undefined && opts.topicId !== ZERO_UUID) {
    // Kafka prefers the id when both are given.
    const all = await admin.describeTopics(await admin.listTopics({ listInternal: !opts.excludeInternal }));
    names = all.filter((d) => d.topicId === opts.topicId).map((d) => d.topic);
    if (names.length === 0 && !opts.ifExists) throw new CliError(`TopicId '${opts.topicId}' does not exist as expected`);
  } else {
    names = await matchingTopics(admin, opts);
    ensureFound(names, opts);
  }
  if (names.length === 0) return;

  const [descriptions, configs, cluster, reassignments] = await Promise.all([
    admin.describeTopics(names),
    admin.describeConfigs(names.map((name) => ({ type: 'topic' as const, name }))),
    admin.describeCluster(),
    ongoingReassignments(admin),
  ]);
  const liveBrokers = new Set(cluster.brokers.map((b) => b.nodeId));
  const reportOnly = REPORTS.some((r) => opts[r]);
  const lines: string[] = [];
  for (const [i, description] of descriptions.entries()) {
    const entries = configs[i]!.entries;
    const reassigning = (p: number) => reassignments.get(`${description.topic}-${p}`);
    if (!reportOnly) {
      const overrides = entries.filter((e) => e.source !== 'DEFAULT_CONFIG');
      if (!opts.topicsWithOverrides || overrides.length > 0) lines.push(topicLine(description, overrides, reassigning(0)));
    }
    if (opts.topicsWithOverrides) continue;
    const minIsr = Number(configValue(entries, 'min.insync.replicas') ?? '1');
    for (const p of description.partitions) {
      const hasLeader = p.leader >= 0;
      const reassignment = reassigning(p.partition);
      const show =
        !reportOnly ||
        (opts.underReplicatedPartitions && replicationFactor(p.replicas, reassignment) - p.isr.length > 0) ||
        (opts.unavailablePartitions && (!hasLeader || !liveBrokers.has(p.leader))) ||
        (opts.underMinIsrPartitions && (!hasLeader || p.isr.length < minIsr)) ||
        (opts.atMinIsrPartitions && p.isr.length === minIsr);
      if (!show) continue;
      const moving =
        reassignment === undefined
          ? ''
          : `\tAdding Replicas: ${reassignment.addingReplicas.join(',')}\tRemoving Replicas: ${reassignment.removingReplicas.join(',')}`;
      lines.push(
        `\tTopic: ${description.topic}\tPartition: ${p.partition}\tLeader: ${hasLeader ? p.leader : 'none'}` +
          `\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}${moving}\tElr: \tLastKnownElr: `,
      );
    }
  }
  if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Ongoing reassignments by `topic-partition`, for the Adding/Removing
 * Replicas columns. As Kafka's tool, a broker without
 * ListPartitionReassignments (a single node) just has none; so does a
 * cluster whose controller does not answer soon (e.g. mid-failover).
 */
async function ongoingReassignments(admin: Admin): Promise<Map<string, PartitionReassignment>> {
  try {
    const list = await admin.listPartitionReassignments({ timeoutMs: REASSIGNMENT_LOOKUP_MS });
    return new Map(list.map((r) => [`${r.topic}-${r.partition}`, r]));
  } catch (error) {
    if (error instanceof UnsupportedVersionError || error instanceof TimeoutError) return new Map();
    throw error;
  }
}

/** How long describe waits for the controller's list of ongoing reassignments. */
const REASSIGNMENT_LOOKUP_MS = 5000;

/** Kafka's replication factor of a partition: its replicas minus those a reassignment is still adding. */
function replicationFactor(replicas: readonly number[], reassignment: PartitionReassignment | undefined): number {
  return replicas.length - (reassignment?.addingReplicas.length ?? 0);
}

function topicLine(d: TopicDescription, overrides: readonly ConfigEntry[], firstReassignment: PartitionReassignment | undefined): string {
  const id = d.topicId !== ZERO_UUID ? `\tTopicId: ${d.topicId}` : '';
  const rf = d.partitions[0] === undefined ? 0 : replicationFactor(d.partitions[0].replicas, firstReassignment);
  const configs = overrides.map((e) => `${e.name}=${e.value}`).join(',');
  return `Topic: ${d.topic}${id}\tPartitionCount: ${d.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${configs}`;
}
