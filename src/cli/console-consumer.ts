/**
 * `ganglion console-consumer`, the counterpart of kafka-console-consumer.sh:
 * prints the records of a topic (all its partitions, or one with
 * --partition/--offset) to standard output with Kafka's formatter
 * properties, until --max-messages, --timeout-ms of silence, or Ctrl-C;
 * then prints "Processed a total of N messages" on standard error.
 *
 * With --group (or group.id) the consumer joins that group and subscribes;
 * otherwise the topic's partitions are assigned directly (what a lone group
 * member would get) and start per auto.offset.reset (--from-beginning:
 * earliest, else latest).
 */
import { Admin, Consumer, type ConsumerRecord, type TopicPartition } from '../client/index.js';
import { readPropertiesFile } from '../config/properties.js';
import {
  CliError,
  clientSettings,
  collect,
  conflict,
  describeError,
  includeList,
  intArg,
  isInternalTopic,
  keyValues,
  logTimestamp,
  newCommand,
  parseArgs,
  processIo,
  runTool,
  signalExitCode,
  writeOut,
  type CliIo,
} from './common.js';
import { MessageFormatter } from './message-formatter.js';

interface ConsumerCliOptions {
  topic?: string;
  include?: string;
  whitelist?: string;
  partition?: number;
  offset?: string;
  fromBeginning?: boolean;
  maxMessages?: number;
  timeoutMs?: number;
  skipMessageOnError?: boolean;
  bootstrapServer?: string;
  keyDeserializer?: string;
  valueDeserializer?: string;
  isolationLevel: string;
  group?: string;
  formatter?: string;
  formatterConfig?: string;
  property?: string[];
  formatterProperty?: string[];
  consumerProperty?: string[];
  commandProperty?: string[];
  'consumer.config'?: string;
  commandConfig?: string;
  enableSystestEvents?: boolean;
}

const FORMATTERS = new Set([
  'kafka.tools.DefaultMessageFormatter',
  'org.apache.kafka.tools.consumer.DefaultMessageFormatter',
  'DefaultMessageFormatter',
]);

export async function consoleConsumer(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'console-consumer', () => runConsoleConsumer(argv, io));
}

function parseOffset(text: string): 'earliest' | 'latest' | number {
  const lower = text.toLowerCase();
  if (lower === 'earliest' || lower === 'latest') return lower;
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new CliError(`The provided offset value '${text}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.`);
  }
  return n;
}

async function runConsoleConsumer(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'console-consumer', 'Read records from a topic and print them to standard output (kafka-console-consumer.sh).')
    .option('--topic <topic>', 'The topic to consume.')
    .option('--include <regex>', 'Regular expression of the topics to consume.')
    .option('--whitelist <regex>', 'Old name of --include.')
    .option('--partition <n>', 'The partition to consume; starts from the end unless --offset or --from-beginning.', intArg)
    .option('--offset <offset>', "Where to start with --partition: 'earliest', 'latest' or a non-negative offset.")
    .option('--from-beginning', 'Start with the earliest record rather than the latest.')
    .option('--max-messages <n>', 'Exit after this many records.', intArg)
    .option('--timeout-ms <ms>', 'Exit when no record arrived for this long.', intArg)
    .option('--skip-message-on-error', 'Skip a record that cannot be printed instead of stopping.')
    .option('--bootstrap-server <server>', 'REQUIRED: The server(s) to connect to.')
    .option('--key-deserializer <class>', 'Deserializer for keys (Java class name: StringDeserializer, LongDeserializer...).')
    .option('--value-deserializer <class>', 'Deserializer for values.')
    .option('--isolation-level <level>', 'read_committed skips records of aborted transactions; read_uncommitted reads all.', 'read_uncommitted')
    .option('--group <group>', 'The consumer group id.')
    .option('--formatter <class>', 'Only the default message formatter is supported.')
    .option('--formatter-config <file>', 'Formatter settings file (--property wins).')
    .option('--property <prop>', 'Formatter setting: print.timestamp, print.key, print.value, print.partition, print.offset, print.headers, key.separator, line.separator, headers.separator, null.literal, key.deserializer, value.deserializer (repeatable).', collect)
    .option('--formatter-property <prop>', 'Same as --property.', collect)
    .option('--consumer-property <prop>', 'A consumer setting key=value (repeatable).', collect)
    .option('--command-property <prop>', 'Same as --consumer-property.', collect)
    .option('--consumer.config <file>', 'Consumer settings file (--consumer-property wins).')
    .option('--command-config <file>', 'Same as --consumer.config.')
    .option('--enable-systest-events', 'Accepted for compatibility; ignored.');
  const opts = parseArgs<ConsumerCliOptions>(program, argv);

  const include = opts.include ?? opts.whitelist;
  if ((opts.topic === undefined) === (include === undefined)) throw new CliError('Exactly one of --topic or --include is required.');
  if (opts.partition !== undefined) {
    if (opts.topic === undefined) throw new CliError('The topic is required when partition is specified.');
    if (opts.fromBeginning && opts.offset !== undefined) throw new CliError('Options from-beginning and offset cannot be specified together.');
  } else if (opts.offset !== undefined) {
    throw new CliError('The partition is required when offset is specified.');
  }
  if (opts.bootstrapServer === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  if (opts.formatter !== undefined && !FORMATTERS.has(opts.formatter)) {
    throw new CliError(`Only the default message formatter is supported, not ${opts.formatter}`);
  }
  if (opts.consumerProperty !== undefined && opts.commandProperty !== undefined) {
    throw new CliError('Options --consumer-property and --command-property cannot be specified together.');
  }
  if (opts['consumer.config'] !== undefined && opts.commandConfig !== undefined) {
    throw new CliError('Options --consumer.config and --command-config cannot be specified together.');
  }
  if (opts.property !== undefined && opts.formatterProperty !== undefined) {
    throw new CliError('Options --property and --formatter-property cannot be specified together.');
  }
  const startOffset = opts.offset !== undefined ? parseOffset(opts.offset) : opts.fromBeginning ? 'earliest' : 'latest';

  const settings = await clientSettings(opts.commandConfig ?? opts['consumer.config'], opts.commandProperty ?? opts.consumerProperty);
  const groups = new Set([opts.group, settings['group.id']].filter((g): g is string => g !== undefined));
  if (groups.size > 1) {
    throw new CliError(
      `The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: ${[...groups].map((g) => `'${g}'`).join(', ')}`,
    );
  }
  if (groups.size > 0 && opts.partition !== undefined) throw conflict('group', 'partition');
  if (groups.size > 0) settings['group.id'] = [...groups][0]!;
  const reset = settings['auto.offset.reset'];
  if (reset !== undefined && opts.fromBeginning && reset !== 'earliest') {
    throw new CliError(`Can't simultaneously specify --from-beginning and 'auto.offset.reset=${reset}', please remove one option`);
  }
  settings['auto.offset.reset'] ??= opts.fromBeginning ? 'earliest' : 'latest';
  settings['bootstrap.servers'] = opts.bootstrapServer;
  settings['client.id'] ??= 'console-consumer';
  if (program.getOptionValueSource('isolationLevel') === 'cli' || settings['isolation.level'] === undefined) {
    settings['isolation.level'] = opts.isolationLevel;
  }

  const formatterProps = new Map<string, string>();
  if (opts.formatterConfig !== undefined) for (const [k, v] of await readPropertiesFile(opts.formatterConfig)) formatterProps.set(k, v);
  if (opts.keyDeserializer) formatterProps.set('key.deserializer', opts.keyDeserializer);
  if (opts.valueDeserializer) formatterProps.set('value.deserializer', opts.valueDeserializer);
  for (const [k, v] of keyValues(opts.formatterProperty ?? opts.property)) formatterProps.set(k, v);
  const formatter = new MessageFormatter(formatterProps);

  const consumer = new Consumer(settings);
  const maxMessages = opts.maxMessages ?? -1;
  const timeoutMs = opts.timeoutMs !== undefined && opts.timeoutMs >= 0 ? opts.timeoutMs : null;
  let count = 0;
  let stopSignal: NodeJS.Signals | null = null;
  let outputBroken = false;
  let exitCode = 0;
  const stopOnSignal = io.onSignal((signal) => {
    stopSignal = signal;
    consumer.wakeup();
  });
  const onOutputError = () => {
    outputBroken = true;
    consumer.wakeup();
  };
  io.stdout.on('error', onOutputError);
  try {
    const started = Date.now();
    const assigned = await assignPartitions(consumer, settings, opts, include, startOffset, timeoutMs, () => stopSignal !== null);
    if (assigned) {
      let lastRecordAt = started;
      while (maxMessages < 0 || count < maxMessages) {
        if (stopSignal !== null || outputBroken) break;
        const idleLeft = timeoutMs === null ? 1000 : lastRecordAt + timeoutMs - Date.now();
        if (idleLeft <= 0) {
          io.stderr.write(
            `${logTimestamp()} ERROR Error processing message, terminating consumer process: TimeoutException: no record received for ${timeoutMs} ms\n`,
          );
          break;
        }
        let records: ConsumerRecord[];
        try {
          records = await consumer.poll(Math.min(idleLeft, 1000));
        } catch (error) {
          io.stderr.write(`${logTimestamp()} ERROR Error processing message, terminating consumer process: ${describeError(error)}\n`);
          break;
        }
        if (records.length === 0) continue;
        lastRecordAt = Date.now();
        const take = maxMessages < 0 ? records : records.slice(0, maxMessages - count);
        if (take.length < records.length) {
          // Not printed: rewind so a group member's commit on close does not skip them.
          const rewound = new Set<string>();
          for (const r of records.slice(take.length)) {
            const key = `${r.topic}\0${r.partition}`;
            if (rewound.has(key)) continue;
            rewound.add(key);
            consumer.seek({ topic: r.topic, partition: r.partition }, r.offset);
          }
        }
        const out: Buffer[] = [];
        for (const record of take) {
          const mark = out.length;
          try {
            formatter.format(record, out);
          } catch (error) {
            if (!opts.skipMessageOnError) throw error;
            out.length = mark;
            io.stderr.write(`${logTimestamp()} ERROR Error processing message, skipping this message: ${describeError(error)}\n`);
          }
        }
        count += take.length;
        try {
          await writeOut(io.stdout, Buffer.concat(out));
        } catch {
          outputBroken = true;
        }
      }
    } else if (stopSignal === null) {
      io.stderr.write(
        `${logTimestamp()} ERROR Error processing message, terminating consumer process: TimeoutException: no record received for ${timeoutMs} ms\n`,
      );
    }
    if (outputBroken) io.stderr.write('Unable to write to standard out, closing consumer.\n');
  } catch (error) {
    io.stderr.write(`${logTimestamp()} ERROR Unknown error when running consumer: ${describeError(error)}\n`);
    exitCode = 1;
  } finally {
    stopOnSignal();
    io.stdout.off('error', onOutputError);
    await consumer.close();
    io.stderr.write(`Processed a total of ${count} messages\n`);
  }
  if (exitCode !== 0) return exitCode;
  return stopSignal !== null ? signalExitCode(stopSignal) : 0;
}

/**
 * Assigns what the options name and positions it. Returns false when
 * --timeout-ms passed (or a signal came) before the topic was known.
 */
async function assignPartitions(
  consumer: Consumer,
  settings: Record<string, string>,
  opts: ConsumerCliOptions,
  include: string | undefined,
  startOffset: 'earliest' | 'latest' | number,
  timeoutMs: number | null,
  stopped: () => boolean,
): Promise<boolean> {
  if (opts.partition !== undefined) {
    const tp = { topic: opts.topic!, partition: opts.partition };
    consumer.assign([tp]);
    if (startOffset === 'earliest') consumer.seekToBeginning([tp]);
    else if (startOffset === 'latest') consumer.seekToEnd([tp]);
    else consumer.seek(tp, startOffset);
    return true;
  }
  let topicNames: string[];
  if (include !== undefined) {
    const pattern = includeList(include);
    const admin = new Admin(settings);
    try {
      const all = await admin.listTopics({ listInternal: true, ...(timeoutMs !== null ? { timeoutMs: Math.max(1, timeoutMs) } : {}) });
      topicNames = all.filter((t) => pattern.test(t) && !(isInternalTopic(t) && settings['exclude.internal.topics'] !== 'false'));
    } finally {
      await admin.close();
    }
    if (topicNames.length === 0) {
      // Kafka keeps waiting for a matching topic; without a group there is nothing to wait on.
      throw new Error(`no topic matches --include '${include}'`);
    }
  } else {
    topicNames = [opts.topic!];
  }
  if (settings['group.id'] !== undefined) {
    // A group member: the coordinator hands out the partitions; committed offsets win over auto.offset.reset.
    consumer.subscribe(topicNames);
    return true;
  }
  const partitions: TopicPartition[] = [];
  const apiTimeoutMs = consumer.config.int('default.api.timeout.ms');
  const waitMs = timeoutMs === null ? apiTimeoutMs : Math.min(timeoutMs, apiTimeoutMs);
  for (const topic of topicNames) {
    if (stopped()) return false;
    try {
      const meta = await consumer.partitionsFor(topic, { timeoutMs: Math.max(1, waitMs) });
      for (const p of meta.partitions) partitions.push({ topic, partition: p.partition });
    } catch (error) {
      if (timeoutMs !== null && timeoutMs < apiTimeoutMs) return false;
      throw error;
    }
  }
  consumer.assign(partitions);
  return true;
}
