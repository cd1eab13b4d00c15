/**
 * `ganglion reassign-partitions`, the counterpart of
 * kafka-reassign-partitions.sh: propose a spread of topics over a broker
 * list (--generate), start a reassignment and print the current assignment
 * for rollback (--execute), report its progress (--verify), cancel it
 * (--cancel) and list ongoing ones (--list), with Kafka's flags, JSON files,
 * checks and output.
 *
 * --throttle is accepted but has no effect: Kafka implements it with dynamic
 * broker configs (leader/follower.replication.throttled.rate) and topic
 * configs (*.replication.throttled.replicas), which this broker does not
 * have. The tool says so and runs the reassignment unthrottled.
 */
import type { Command } from 'commander';
import { Admin, AdminError, ErrorCode, KafkaError, type PartitionReassignment } from '../client/index.js';
import { assignReplicas } from '../controller/assignment.js';
import {
  CliError,
  clientSettings,
  given,
  intArg,
  newCommand,
  parseArgs,
  processIo,
  readTextFile,
  requireOptions,
  runTool,
  type CliIo,
} from './common.js';
import {
  checkReassignment,
  compareTopicPartitions,
  duplicates,
  formatReassignment,
  parseReassignment,
  parseTopicsToMove,
  tpName,
  type PartitionReplicas,
} from './partition-json.js';

interface ReassignOptions {
  bootstrapServer?: string;
  commandConfig?: string;
  generate?: boolean;
  execute?: boolean;
  verify?: boolean;
  cancel?: boolean;
  list?: boolean;
  reassignmentJsonFile?: string;
  topicsToMoveJsonFile?: string;
  brokerList?: string;
  disableRackAware?: boolean;
  throttle: number;
  replicaAlterLogDirsThrottle: number;
  timeout: number;
  additional?: boolean;
  preserveThrottles?: boolean;
}

const ACTIONS = ['generate', 'execute', 'verify', 'cancel', 'list'] as const;
type Action = (typeof ACTIONS)[number];

/** Per action: the options it needs, and the others it allows (Kafka's tables). */
const REQUIRED: Record<Action, string[]> = {
  generate: ['topicsToMoveJsonFile', 'brokerList'],
  execute: ['reassignmentJsonFile'],
  verify: ['reassignmentJsonFile'],
  cancel: ['reassignmentJsonFile'],
  list: [],
};
const PERMITTED: Record<Action, string[]> = {
  generate: ['bootstrapServer', 'commandConfig', 'disableRackAware'],
  execute: ['bootstrapServer', 'commandConfig', 'additional', 'throttle', 'replicaAlterLogDirsThrottle', 'timeout'],
  verify: ['bootstrapServer', 'commandConfig', 'preserveThrottles'],
  cancel: ['bootstrapServer', 'commandConfig', 'preserveThrottles', 'timeout'],
  list: ['bootstrapServer', 'commandConfig'],
};

export const CANNOT_EXECUTE_BECAUSE_OF_EXISTING =
  'Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition ' +
  'assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the ' +
  'current reassignment.';

/** A failure Kafka reports in its own words, without the "Error: " prefix. */
class TerseError extends CliError {}

export async function reassignPartitions(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'reassign-partitions', () => runReassign(argv, io), 'Error: ');
}

async function runReassign(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'reassign-partitions', 'Move partitions between brokers (kafka-reassign-partitions.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: the server(s) to use for bootstrapping.')
    .option('--command-config <file>', 'Property file containing configs to be passed to the admin client.')
    .option('--generate', 'Generate a candidate partition reassignment configuration (does not execute it).')
    .option('--execute', 'Start the reassignment in --reassignment-json-file.')
    .option('--verify', 'Report the status of the reassignment in --reassignment-json-file.')
    .option('--cancel', 'Cancel the active reassignments of the partitions in --reassignment-json-file.')
    .option('--list', 'List the partition reassignments in progress.')
    .option('--reassignment-json-file <file>', 'The partition reassignment JSON file (as --generate prints it).')
    .option('--topics-to-move-json-file <file>', 'With --generate: {"topics":[{"topic":"t"}],"version":1}.')
    .option('--broker-list <ids>', 'With --generate: the brokers to spread the partitions over, e.g. "0,1,2".')
    .option('--disable-rack-aware', 'Accepted for compatibility (brokers have no racks here).')
    .option('--throttle <bytes/sec>', 'Accepted; not supported by this broker version (the move runs unthrottled).', intArg, -1)
    .option('--replica-alter-log-dirs-throttle <bytes/sec>', 'Accepted; not supported by this broker version.', intArg, -1)
    .option('--timeout <ms>', 'How long the controller may take to start the reassignment.', intArg, 10_000)
    .option('--additional', 'With --execute: start a reassignment while others are in progress.')
    .option('--preserve-throttles', 'Accepted for compatibility (there are no throttles to remove).');
  const opts = parseArgs<ReassignOptions>(program, argv);
  const action = checkArgs(program, opts);

  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': opts.bootstrapServer });
  const admin = new Admin(settings);
  try {
    await runAction(action, admin, opts, io);
    return 0;
  } catch (error) {
    // Kafka prints a failed command as "Error: <message>", except the messages it words completely itself.
    if (error instanceof CliError && !(error instanceof TerseError)) throw new CliError(`Error: ${error.message}`);
    throw error;
  } finally {
    await admin.close();
  }
}

async function runAction(action: Action, admin: Admin, opts: ReassignOptions, io: CliIo): Promise<void> {
  switch (action) {
    case 'generate':
      return generate(admin, opts, io);
    case 'execute':
      return execute(admin, opts, io);
    case 'verify':
      return verify(admin, opts, io);
    case 'cancel':
      return cancel(admin, opts, io);
    case 'list':
      io.stdout.write(`${formatOngoing(await admin.listPartitionReassignments())}\n`);
      return;
  }
}

function checkArgs(program: Command, opts: ReassignOptions): Action {
  const actions = ACTIONS.filter((a) => opts[a]);
  if (actions.length !== 1) {
    throw new CliError(`Command must include exactly one action: ${ACTIONS.map((a) => `--${a}`).join(', ')}`);
  }
  const action = actions[0]!;
  if (opts.bootstrapServer === undefined) throw new CliError('Please specify --bootstrap-server');
  requireOptions(program, ...REQUIRED[action]);
  for (const option of program.options) {
    const attribute = option.attributeName();
    if (attribute === action || !given(program, attribute)) continue;
    if (!REQUIRED[action].includes(attribute) && !PERMITTED[action].includes(attribute)) {
      throw new CliError(`Option "[${option.long!.replace(/^--/, '')}]" can't be used with action "[${action}]"`);
    }
  }
  return action;
}

/** `--broker-list "0,1,2"`. */
export function parseBrokerList(text: string): number[] {
  const ids = text.split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n)) throw new CliError(`Invalid --broker-list '${text}': '${s}' is not a broker id`);
    return n;
  });
  const dups = duplicates(ids);
  if (dups.length > 0) throw new CliError(`Broker list contains duplicate entries: ${dups.join(',')}`);
  return ids;
}

/** Current replicas of every partition of `topics`. */
async function topicAssignments(admin: Admin, topics: readonly string[]): Promise<PartitionReplicas[]> {
  try {
    const descriptions = await admin.describeTopics([...new Set(topics)]);
    return descriptions.flatMap((d) => d.partitions.map((p) => ({ topic: d.topic, partition: p.partition, replicas: p.replicas })));
  } catch (error) {
    const missing = error instanceof AdminError ? error.failures.find((f) => f.error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) : undefined;
    if (missing !== undefined) throw new CliError(`Topic ${missing.resource} not found.`);
    throw error;
  }
}

/**
 * Kafka's proposal: each topic's partitions spread over the listed live
 * brokers with the topic's current replication factor (the rack-unaware
 * placement of topic creation). Listed brokers that are not live are left out.
 */
export function proposeAssignment(current: readonly PartitionReplicas[], liveListed: readonly number[]): PartitionReplicas[] {
  const byTopic = new Map<string, PartitionReplicas[]>();
  for (const p of current) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  const proposal: PartitionReplicas[] = [];
  for (const [topic, partitions] of byTopic) {
    const sorted = [...partitions].sort(compareTopicPartitions);
    const rf = sorted[0]!.replicas.length;
    if (rf > liveListed.length) throw new CliError(`Replication factor: ${rf} larger than available brokers: ${liveListed.length}.`);
    const replicas = assignReplicas([...liveListed], sorted.length, rf);
    sorted.forEach((p, i) => proposal.push({ topic, partition: p.partition, replicas: replicas[i]! }));
  }
  return proposal;
}

async function generate(admin: Admin, opts: ReassignOptions, io: CliIo): Promise<void> {
  const brokers = parseBrokerList(opts.brokerList!);
  const topics = parseTopicsToMove(await readTextFile(opts.topicsToMoveJsonFile!));
  const dupTopics = duplicates(topics);
  if (dupTopics.length > 0) throw new CliError(`List of topics to reassign contains duplicate entries: ${dupTopics.join(',')}`);
  const current = topics.length === 0 ? [] : await topicAssignments(admin, topics);
  const live = new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId));
  const proposal = proposeAssignment(current, brokers.filter((b) => live.has(b)));
  io.stdout.write(`Current partition replica assignment\n${formatReassignment(current)}\n\n`);
  io.stdout.write(`Proposed partition reassignment configuration\n${formatReassignment(proposal)}\n`);
}

/** Current replicas of exactly these partitions; a partition that does not exist is an error. */
async function partitionAssignments(admin: Admin, partitions: readonly PartitionReplicas[]): Promise<Map<string, number[]>> {
  const all = await topicAssignments(admin, partitions.map((p) => p.topic));
  const byName = new Map(all.map((p) => [tpName(p), p.replicas]));
  for (const p of partitions) if (!byName.has(tpName(p))) throw new CliError(`Unable to find partition: ${tpName(p)}`);
  return byName;
}

function throttleNotice(opts: ReassignOptions, io: CliIo): void {
  if (opts.throttle >= 0) {
    io.stdout.write(
      `Warning: --throttle ${opts.throttle} is not supported by this broker version: it has no dynamic broker configs ` +
        '(leader/follower.replication.throttled.rate), so the reassignment runs unthrottled.\n',
    );
  }
  if (opts.replicaAlterLogDirsThrottle >= 0) {
    io.stdout.write('Warning: --replica-alter-log-dirs-throttle is not supported by this broker version; ignored.\n');
  }
}

async function execute(admin: Admin, opts: ReassignOptions, io: CliIo): Promise<void> {
  const plan = parseReassignment(await readTextFile(opts.reassignmentJsonFile!));
  checkReassignment(plan);
  if (!opts.additional && (await admin.listPartitionReassignments()).length > 0) throw new TerseError(CANNOT_EXECUTE_BECAUSE_OF_EXISTING);
  const known = new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId));
  const unknown = plan.flatMap((p) => p.replicas).find((id) => !known.has(id));
  if (unknown !== undefined) throw new CliError(`Unknown broker id ${unknown}`);
  const current = await partitionAssignments(admin, plan);
  const rollback = plan.map((p) => ({ topic: p.topic, partition: p.partition, replicas: current.get(tpName(p))! }));
  io.stdout.write(
    `Current partition replica assignment\n\n${formatReassignment(rollback)}\n\n` +
      'Save this to use as the --reassignment-json-file option during rollback\n',
  );
  throttleNotice(opts, io);
  try {
    await admin.alterPartitionReassignments(plan, { timeoutMs: opts.timeout });
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    const order = [...plan].sort(compareTopicPartitions).map(tpName);
    const lines = [...error.failures]
      .sort((a, b) => order.indexOf(a.resource) - order.indexOf(b.resource))
      .map((f) => `${f.resource}: ${errorText(f.error)}`);
    throw new TerseError(`Error reassigning partition(s):\n${lines.join('\n')}`);
  }
  const names = [...plan].sort(compareTopicPartitions).map(tpName);
  io.stdout.write(`Successfully started partition reassignment${plan.length === 1 ? '' : 's'} for ${names.join(',')}\n`);
}

function errorText(error: KafkaError): string {
  return /\s/.test(error.detail) ? error.detail : `${error.errorName}: ${new KafkaError(error.code).detail}`;
}

async function verify(admin: Admin, opts: ReassignOptions, io: CliIo): Promise<void> {
  const plan = parseReassignment(await readTextFile(opts.reassignmentJsonFile!));
  const ongoing = new Map((await admin.listPartitionReassignments({ partitions: plan })).map((r) => [tpName(r), r]));
  const current = await partitionAssignments(admin, plan);
  const lines = ['Status of partition reassignment:'];
  for (const p of [...plan].sort(compareTopicPartitions)) {
    const name = tpName(p);
    if (ongoing.has(name)) {
      lines.push(`Reassignment of partition ${name} is still in progress.`);
      continue;
    }
    const replicas = current.get(name)!;
    if (replicas.join(',') === p.replicas.join(',')) lines.push(`Reassignment of partition ${name} is completed.`);
    else lines.push(`There is no active reassignment of partition ${name}, but replica set is [${replicas.join(',')}] rather than [${p.replicas.join(',')}].`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}

async function cancel(admin: Admin, opts: ReassignOptions, io: CliIo): Promise<void> {
  const plan = parseReassignment(await readTextFile(opts.reassignmentJsonFile!));
  const active = (await admin.listPartitionReassignments({ partitions: plan }))
    .filter((r) => r.addingReplicas.length > 0 || r.removingReplicas.length > 0)
    .sort(compareTopicPartitions);
  if (active.length === 0) {
    io.stdout.write('None of the specified partition reassignments are active.\n');
    return;
  }
  try {
    await admin.alterPartitionReassignments(
      active.map((r) => ({ topic: r.topic, partition: r.partition, replicas: null })),
      { timeoutMs: opts.timeout },
    );
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    const lines = error.failures.map((f) => `${f.resource}: ${errorText(f.error)}`);
    throw new TerseError(`Error cancelling partition reassignment${error.failures.length === 1 ? '' : 's'} for:\n${lines.join('\n')}`);
  }
  io.stdout.write(`Successfully cancelled partition reassignment${active.length === 1 ? '' : 's'} for: ${active.map(tpName).join(',')}\n`);
}

/** `--list`: Kafka's summary of ongoing reassignments. */
export function formatOngoing(reassignments: readonly PartitionReassignment[]): string {
  if (reassignments.length === 0) return 'No partition reassignments found.';
  const lines = [...reassignments].sort(compareTopicPartitions).map((r) => {
    const adding = r.addingReplicas.length > 0 ? ` adding: ${r.addingReplicas.join(',')}.` : '';
    const removing = r.removingReplicas.length > 0 ? ` removing: ${r.removingReplicas.join(',')}.` : '';
    return `${tpName(r)}: replicas: ${r.replicas.join(',')}.${adding}${removing}`;
  });
  return `Current partition reassignments:\n${lines.join('\n')}`;
}
