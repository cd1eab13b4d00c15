/**
 * `ganglion topics --zookeeper host:2181[/chroot] ...`: the seeds'
 * kafka-topics.sh form from the ZooKeeper days. Instead of asking a broker,
 * the tool reads and writes Kafka's znodes itself, as Kafka's tool did:
 * --create writes `/config/topics/<t>` and `/brokers/topics/<t>` with an
 * assignment over the brokers registered in `/brokers/ids` (the controller
 * picks the topic up and elects leaders); --delete marks the topic in
 * `/admin/delete_topics`; --list and --describe read the topic, partition
 * state and config nodes.
 */
import { parseZooKeeperConnect } from '../config/listeners.js';
import { topicConfigError } from '../config/topic-config.js';
import { randomUuid } from '../controller/uuid.js';
import { assignNewPartitions, checkNewTopicName, checkReplicaList } from '../controller/topic-validation.js';
import { silentLogger } from '../logging.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { KafkaZkClient, TopicExistsError, ZkConnectionError } from '../zookeeper/index.js';
import { CliError, includeList, isInternalTopic, type CliIo } from './common.js';

/** Kafka's tool waited this long for ZooKeeper (its ZkClient timeouts). */
const ZK_SESSION_TIMEOUT_MS = 30_000;
const ZK_CONNECTION_TIMEOUT_MS = 10_000;

export interface ZkTopicsOptions {
  zookeeper: string;
  create?: boolean;
  list?: boolean;
  describe?: boolean;
  delete?: boolean;
  topic?: string;
  partitions?: number;
  replicationFactor?: number;
  replicaAssignment?: number[][];
  configs: Record<string, string>;
  ifExists?: boolean;
  ifNotExists?: boolean;
  excludeInternal?: boolean;
  underReplicatedPartitions?: boolean;
  unavailablePartitions?: boolean;
}

/** Connects to the ensemble named by `--zookeeper`; a clear error when it does not answer (runTool adds Kafka's prefix). */
async function connect(text: string): Promise<KafkaZkClient> {
  const parsed = parseZooKeeperConnect('--zookeeper', text);
  if (!parsed.ok) throw new CliError(`Invalid --zookeeper '${text}': expected host:port[,host:port...][/chroot]`);
  try {
    return await KafkaZkClient.connect({
      connect: parsed.value,
      sessionTimeoutMs: ZK_SESSION_TIMEOUT_MS,
      connectionTimeoutMs: ZK_CONNECTION_TIMEOUT_MS,
      logger: silentLogger,
    });
  } catch (error) {
    if (error instanceof ZkConnectionError) {
      throw new Error(`ZooKeeper is unreachable: ${error.message}. Is it running (ganglion zookeeper-server-start)?`);
    }
    throw error;
  }
}

export async function zookeeperTopics(opts: ZkTopicsOptions, io: CliIo): Promise<void> {
  const zk = await connect(opts.zookeeper);
  try {
    if (opts.create) await create(zk, opts, io);
    else if (opts.list) await list(zk, opts, io);
    else if (opts.describe) await describe(zk, opts, io);
    else if (opts.delete) await markForDeletion(zk, opts, io);
    else throw new CliError('With --zookeeper, only --create, --list, --describe and --delete are supported; use --bootstrap-server to alter topics');
  } finally {
    await zk.close();
  }
}

async function create(zk: KafkaZkClient, opts: ZkTopicsOptions, io: CliIo): Promise<void> {
  const name = opts.topic!;
  await zk.ensurePersistentPaths();
  const existing = await zk.getTopics();
  if (opts.ifNotExists && existing.includes(name)) return;
  checkNewTopicName(name, existing);
  const configError = topicConfigError(opts.configs);
  if (configError) throw new Error(configError);
  const brokers = (await zk.getBrokerIds()).sort((a, b) => a - b);
  let lists: number[][];
  if (opts.replicaAssignment !== undefined) {
    for (const replicas of opts.replicaAssignment) checkReplicaList(replicas, opts.replicaAssignment[0]!.length, brokers);
    lists = opts.replicaAssignment;
  } else {
    lists = assignNewPartitions(opts.partitions!, opts.replicationFactor!, 0, brokers);
  }
  try {
    await zk.createTopic(name, randomUuid(), new Map(lists.map((replicas, p) => [p, replicas])), opts.configs);
  } catch (error) {
    if (error instanceof TopicExistsError && opts.ifNotExists) return;
    throw error;
  }
  io.stdout.write(`Created topic ${name}.\n`);
}

/** Topics matching `--topic` (a regular expression), sorted. */
async function matching(zk: KafkaZkClient, opts: ZkTopicsOptions): Promise<string[]> {
  const all = (await zk.getTopics()).filter((t) => !(opts.excludeInternal && isInternalTopic(t))).sort();
  if (opts.topic === undefined) return all;
  const pattern = includeList(opts.topic);
  const found = all.filter((t) => pattern.test(t));
  if (found.length === 0 && !opts.ifExists) throw new CliError(`Topic '${opts.topic}' does not exist as expected`);
  return found;
}

async function list(zk: KafkaZkClient, opts: ZkTopicsOptions, io: CliIo): Promise<void> {
  const names = await matching(zk, opts);
  const deleting = new Set(await zk.getTopicsMarkedForDeletion());
  const lines = names.map((t) => (deleting.has(t) ? `${t} - marked for deletion` : t));
  if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
}

async function describe(zk: KafkaZkClient, opts: ZkTopicsOptions, io: CliIo): Promise<void> {
  const names = await matching(zk, opts);
  const live = new Set(await zk.getBrokerIds());
  const deleting = new Set(await zk.getTopicsMarkedForDeletion());
  const reportOnly = opts.underReplicatedPartitions || opts.unavailablePartitions;
  const lines: string[] = [];
  for (const name of names) {
    const assignment = await zk.getTopicAssignment(name);
    if (assignment === null) continue;
    const partitions = [...assignment.partitions].sort((a, b) => a[0] - b[0]);
    if (!reportOnly) {
      const configs = Object.entries(await zk.getTopicConfig(name))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const id = assignment.topicId !== null && assignment.topicId !== ZERO_UUID ? `\tTopicId: ${assignment.topicId}` : '';
      const rf = partitions[0]?.[1].length ?? 0;
      lines.push(`Topic: ${name}${id}\tPartitionCount: ${partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${configs}`);
    }
    for (const [partition, replicas] of partitions) {
      const state = await zk.getPartitionState(name, partition);
      const leader = state?.leader ?? -1;
      const isr = state?.isr ?? [];
      const show =
        !reportOnly ||
        (opts.underReplicatedPartitions && isr.length < replicas.length) ||
        (opts.unavailablePartitions && (leader < 0 || !live.has(leader)));
      if (!show) continue;
      const marked = deleting.has(name) ? '\tMarkedForDeletion: true' : '';
      lines.push(
        `\tTopic: ${name}\tPartition: ${partition}\tLeader: ${leader >= 0 ? leader : 'none'}\tReplicas: ${replicas.join(',')}\tIsr: ${isr.join(',')}${marked}`,
      );
    }
  }
  if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
}

async function markForDeletion(zk: KafkaZkClient, opts: ZkTopicsOptions, io: CliIo): Promise<void> {
  const names = await matching(zk, opts);
  for (const name of names) {
    if (isInternalTopic(name)) throw new Error(`Topic ${name} is a kafka internal topic and is not allowed to be marked for deletion.`);
    await zk.markTopicForDeletion(name);
    io.stdout.write(`Topic ${name} is marked for deletion.\nNote: This will have no impact if delete.topic.enable is not set to true.\n`);
  }
}
