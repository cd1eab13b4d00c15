/**
 * `ganglion leader-election`, the counterpart of kafka-leader-election.sh:
 * asks the controller for a PREFERRED or UNCLEAN leader election on one
 * partition (--topic/--partition), the partitions of a JSON file
 * (--path-to-json-file) or every partition (--all-topic-partitions), and
 * prints Kafka's summary lines.
 */
import { Admin, KafkaError, TimeoutError, type ElectionResult, type ElectionType, type TopicPartition } from '../client/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { CliError, clientSettings, intArg, newCommand, parseArgs, processIo, readTextFile, runTool, type CliIo } from './common.js';
import { compareTopicPartitions, parseElectionPartitions, tpName } from './partition-json.js';

interface ElectionOptions {
  bootstrapServer?: string;
  electionType?: ElectionType;
  topic?: string;
  partition?: number;
  allTopicPartitions?: boolean;
  pathToJsonFile?: string;
}

/** Kafka's tool waits this long for the election (its admin timeout). */
const ELECTION_TIMEOUT_MS = 30_000;

export async function leaderElection(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'leader-election', () => runElection(argv, io), '');
}

function electionTypeArg(value: string): ElectionType {
  const upper = value.trim().toUpperCase();
  if (upper !== 'PREFERRED' && upper !== 'UNCLEAN') throw new CliError(`Invalid election type '${value}': expected PREFERRED or UNCLEAN`);
  return upper;
}

async function runElection(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'leader-election', 'Elect partition leaders (kafka-leader-election.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: the server(s) to connect to.')
    .option('--admin.config <file>', 'Property file with configs for the admin client.')
    .option('--election-type <type>', 'REQUIRED: PREFERRED (the first replica) or UNCLEAN (any live replica, even outside the ISR).', electionTypeArg)
    .option('--topic <topic>', 'The topic of the partition to elect a leader for (with --partition).')
    .option('--partition <n>', 'The partition to elect a leader for (with --topic).', intArg)
    .option('--all-topic-partitions', 'Elect leaders for every partition of every topic.')
    .option('--path-to-json-file <file>', 'The partitions to elect leaders for: {"partitions":[{"topic":"t","partition":0}]}.');
  const opts = parseArgs<ElectionOptions & { 'admin.config'?: string }>(program, argv);
  checkArgs(opts);

  let partitions: TopicPartition[] | null = null;
  if (opts.pathToJsonFile !== undefined) partitions = parseElectionPartitions(await readTextFile(opts.pathToJsonFile));
  else if (opts.topic !== undefined) partitions = [{ topic: opts.topic, partition: opts.partition! }];

  const settings = await clientSettings(opts['admin.config'], [], {
    'bootstrap.servers': opts.bootstrapServer,
    'default.api.timeout.ms': String(ELECTION_TIMEOUT_MS),
    'request.timeout.ms': String(ELECTION_TIMEOUT_MS / 2),
  });
  const admin = new Admin(settings);
  try {
    let results: ElectionResult[];
    try {
      results = await admin.electLeaders(opts.electionType!, partitions);
    } catch (error) {
      if (error instanceof TimeoutError) throw new CliError('Timeout waiting for election results');
      if (error instanceof KafkaError && error.code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED) throw new CliError('Not authorized to perform leader election');
      throw error;
    }
    io.stdout.write(formatResults(opts.electionType!, results));
    const failed = results.filter((r) => r.error !== null && r.error.code !== ErrorCode.ELECTION_NOT_NEEDED);
    if (failed.length > 0) throw new CliError(`${failed.length} replica(s) could not be elected`);
    return 0;
  } finally {
    await admin.close();
  }
}

/** Kafka's rules: both required options, exactly one way to name partitions, --partition only with --topic. */
function checkArgs(opts: ElectionOptions): void {
  const missing = [opts.bootstrapServer === undefined ? 'bootstrap-server' : null, opts.electionType === undefined ? 'election-type' : null];
  if (missing.some((m) => m !== null)) throw new CliError(`Missing required option(s): ${missing.filter((m) => m !== null).join(', ')}`);
  const ways = [opts.topic, opts.allTopicPartitions, opts.pathToJsonFile].filter((v) => v !== undefined);
  if (ways.length !== 1) throw new CliError('One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file');
  if (opts.topic !== undefined && opts.partition === undefined) throw new CliError('Missing required option(s): partition');
  if (opts.topic === undefined && opts.partition !== undefined) throw new CliError('Option partition is only allowed if topic is used');
}

/** Kafka's output: the elected partitions, those that already had the right leader, then one line per failure. */
export function formatResults(type: ElectionType, results: readonly ElectionResult[]): string {
  const sorted = [...results].sort(compareTopicPartitions);
  const succeeded = sorted.filter((r) => r.error === null);
  const noop = sorted.filter((r) => r.error?.code === ErrorCode.ELECTION_NOT_NEEDED);
  const failed = sorted.filter((r) => r.error !== null && r.error.code !== ErrorCode.ELECTION_NOT_NEEDED);
  const lines: string[] = [];
  if (succeeded.length > 0) lines.push(`Successfully completed leader election (${type}) for partitions ${succeeded.map(tpName).join(', ')}`);
  if (noop.length > 0) lines.push(`Valid replica already elected for partitions ${noop.map(tpName).join(', ')}`);
  for (const f of failed) {
    lines.push(`Error completing leader election (${type}) for partition: ${tpName(f)}: ${f.error!.errorName}: ${f.error!.detail}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
