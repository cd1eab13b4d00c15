/**
 * `ganglion get-offsets`, the counterpart of kafka-get-offsets.sh: prints
 * `topic:partition:offset` for the partitions matching --topic (a regular
 * expression) and --partitions, or --topic-partitions patterns, at --time
 * (-1/latest, -2/earliest, -3/max-timestamp, or a timestamp in ms).
 */
import { Admin, type ListedOffset, type OffsetSpec, type TopicPartition } from '../client/index.js';
import {
  CliError,
  clientSettings,
  describeError,
  includeList,
  isInternalTopic,
  newCommand,
  parseArgs,
  processIo,
  runTool,
  type CliIo,
} from './common.js';

interface GetOffsetsOptions {
  bootstrapServer?: string;
  brokerList?: string;
  topicPartitions?: string;
  topic?: string;
  partitions?: string;
  time: string;
  commandConfig?: string;
  excludeInternalTopics?: boolean;
}

type PartitionFilter = (partition: number) => boolean;
interface Rule {
  topic: RegExp;
  partition: PartitionFilter;
}

export async function getOffsets(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'get-offsets', () => runGetOffsets(argv, io), 'Error occurred: ');
}

const TIME_HELP =
  'Please use -1 or latest / -2 or earliest / -3 or max-timestamp, or a specified long format timestamp';

export function parseOffsetSpec(time: string): OffsetSpec {
  switch (time) {
    case 'earliest':
      return 'earliest';
    case 'latest':
      return 'latest';
    case 'max-timestamp':
      return 'max-timestamp';
  }
  const n = Number(time);
  if (time.trim() === '' || !Number.isSafeInteger(n)) throw new CliError(`Error occurred: Malformed time argument ${time}. ${TIME_HELP}`);
  if (n === -1) return 'latest';
  if (n === -2) return 'earliest';
  if (n === -3) return 'max-timestamp';
  if (n < 0) throw new CliError(`Error occurred: Unsupported time argument ${time} (tiered storage offsets -4/-5/-6 are not available). ${TIME_HELP}`);
  return { timestamp: n };
}

/** `t1:1,t2:0-3,t3,t4:5-,:-3`: topic regex, then a partition, a [from, to) range, or nothing for all. */
function parseRules(text: string): Rule[] {
  return text.split(',').map((spec) => {
    const m = /^([^:,]*)(?::(?:([0-9]+)|(?:([0-9]*)-([0-9]*))))?$/.exec(spec);
    if (m === null || (m[3] === '' && m[4] === '')) throw new CliError(`Error occurred: Invalid rule specification: ${spec}`);
    const topic = includeList(m[1] ? m[1] : '.*');
    if (m[2] !== undefined) {
      const p = Number(m[2]);
      return { topic, partition: (x) => x === p };
    }
    const lower = m[3] ? Number(m[3]) : 0;
    const upper = m[4] ? Number(m[4]) : Number.MAX_SAFE_INTEGER;
    return { topic, partition: (x) => x >= lower && x < upper };
  });
}

async function runGetOffsets(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'get-offsets', 'Print the offsets of topic partitions at a time (kafka-get-offsets.sh).')
    .option('--bootstrap-server <servers>', 'REQUIRED. The server(s) to connect to in the form HOST1:PORT1,HOST2:PORT2.')
    .option('--broker-list <servers>', 'DEPRECATED, use --bootstrap-server.')
    .option('--topic-partitions <patterns>', "Topic-partition patterns: 'topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3'.")
    .option('--topic <topic>', 'The topic (a regular expression); all topics when omitted.')
    .option('--partitions <ids>', 'Comma separated partition ids; all partitions when omitted.')
    .option('--time <time>', '-1 or latest, -2 or earliest, -3 or max-timestamp, or a timestamp (ms): the first offset at or after it.', 'latest')
    .option('--command-config <file>', 'Property file containing configs to be passed to the admin client.')
    .option('--exclude-internal-topics', 'Exclude internal topics (included by default).');
  const opts = parseArgs<GetOffsetsOptions>(program, argv);
  const servers = opts.bootstrapServer ?? opts.brokerList;
  if (servers === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  if (opts.topicPartitions !== undefined && (opts.topic !== undefined || opts.partitions !== undefined)) {
    throw new CliError('Error occurred: --topic-partitions cannot be used with --topic or --partitions');
  }
  const spec = parseOffsetSpec(opts.time);
  let rules: Rule[];
  if (opts.topicPartitions !== undefined) {
    rules = parseRules(opts.topicPartitions);
  } else {
    let ids: Set<number> | null = null;
    if (opts.partitions !== undefined && opts.partitions !== '') {
      const parts = opts.partitions.split(',').map((s) => Number(s.trim()));
      if (parts.some((p) => !Number.isInteger(p))) {
        throw new CliError(`Error occurred: --partitions expects a comma separated list of numeric partition ids, but received: ${opts.partitions}`);
      }
      ids = new Set(parts);
    }
    const only = ids;
    rules = [{ topic: includeList(opts.topic ?? '.*'), partition: (p) => only === null || only.has(p) }];
  }

  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': servers, 'client.id': 'GetOffsetShell' });
  const admin = new Admin(settings);
  try {
    const all = await admin.listTopics({ listInternal: !opts.excludeInternalTopics });
    const topics = all.filter((t) => !(opts.excludeInternalTopics && isInternalTopic(t)) && rules.some((r) => r.topic.test(t)));
    const descriptions = topics.length > 0 ? await admin.describeTopics(topics) : [];
    const wanted: TopicPartition[] = [];
    for (const d of descriptions) {
      for (const p of d.partitions) {
        if (rules.some((r) => r.topic.test(d.topic) && r.partition(p.partition))) wanted.push({ topic: d.topic, partition: p.partition });
      }
    }
    if (wanted.length === 0) throw new CliError('Error occurred: Could not match any topic-partitions with the specified filters');

    const results = await listOffsetsEach(admin, wanted, spec, (tp, error) => {
      io.stderr.write(`Skip getting offsets for topic-partition ${tp.topic}-${tp.partition} due to error: ${describeError(error)}\n`);
    });
    // Kafka sorts by "topic-partition" as a string.
    const lines = results
      .filter((r) => r.offset !== -1)
      .map((r) => ({ key: `${r.topic}-${r.partition}`, line: `${r.topic}:${r.partition}:${r.offset}` }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((x) => x.line);
    if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await admin.close();
  }
}

/** All offsets in one call; when some partitions fail, asks each partition alone so the others still print. */
async function listOffsetsEach(
  admin: Admin,
  tps: readonly TopicPartition[],
  spec: OffsetSpec,
  onError: (tp: TopicPartition, error: unknown) => void,
): Promise<ListedOffset[]> {
  try {
    return await admin.listOffsets(tps.map((tp) => ({ ...tp, spec })));
  } catch {
    const settled = await Promise.all(
      tps.map(async (tp) => {
        try {
          return (await admin.listOffsets([{ ...tp, spec }]))[0]!;
        } catch (error) {
          onError(tp, error);
          return null;
        }
      }),
    );
    return settled.filter((r): r is ListedOffset => r !== null);
  }
}
