/**
 * `ganglion consumer-perf-test`, the counterpart of
 * kafka-consumer-perf-test.sh: reads --messages records (from the beginning
 * unless --from-latest) and prints Kafka's CSV summary: start and end time,
 * MB and records consumed and their rates, rebalance and fetch time.
 *
 * With --group (or group.id) it joins that group and subscribes, and
 * "rebalance.time.ms" is the time spent waiting for assignments, as in
 * Kafka; without one, the topics' partitions are assigned directly (no
 * group to create and leave) and it is the time spent finding them.
 */
import { Admin, Consumer, type TopicPartition } from '../client/index.js';
import {
  CliError,
  clientSettings,
  collect,
  includeList,
  intArg,
  newCommand,
  parseArgs,
  processIo,
  runTool,
  type CliIo,
} from './common.js';

interface ConsumerPerfOptions {
  bootstrapServer?: string;
  brokerList?: string;
  topic?: string;
  include?: string;
  group?: string;
  fetchSize: number;
  fromLatest?: boolean;
  socketBufferSize: number;
  'consumer.config'?: string;
  commandConfig?: string;
  commandProperty?: string[];
  printMetrics?: boolean;
  showDetailedStats?: boolean;
  timeout: number;
  messages?: number;
  reportingInterval: number;
  dateFormat: string;
  hideHeader?: boolean;
  threads?: number;
  numFetchThreads?: number;
}

const MB = 1024 * 1024;
const f4 = (n: number): string => (Number.isFinite(n) ? n.toFixed(4) : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity');

/** Java SimpleDateFormat for the usual letters (y M d H h m s S a), local time. */
export function formatDate(pattern: string, ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  return pattern.replace(/'([^']*)'|y+|M+|d+|H+|h+|m+|s+|S+|a/g, (token, quoted: string | undefined) => {
    if (quoted !== undefined) return quoted === '' ? "'" : quoted;
    const w = token.length;
    switch (token[0]) {
      case 'y':
        return w === 2 ? pad(d.getFullYear() % 100, 2) : pad(d.getFullYear(), w);
      case 'M':
        return pad(d.getMonth() + 1, w);
      case 'd':
        return pad(d.getDate(), w);
      case 'H':
        return pad(d.getHours(), w);
      case 'h':
        return pad(d.getHours() % 12 || 12, w);
      case 'm':
        return pad(d.getMinutes(), w);
      case 's':
        return pad(d.getSeconds(), w);
      case 'S':
        return pad(d.getMilliseconds(), w);
      default:
        return d.getHours() < 12 ? 'AM' : 'PM';
    }
  });
}

export async function consumerPerfTest(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'consumer-perf-test', () => runConsumerPerfTest(argv, io));
}

async function runConsumerPerfTest(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'consumer-perf-test', 'Measure consumer throughput (kafka-consumer-perf-test.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: The server(s) to connect to.')
    .option('--broker-list <server>', 'DEPRECATED, use --bootstrap-server.')
    .option('--topic <topic>', 'The topic to consume from.')
    .option('--include <regex>', 'Regular expression of the topics to consume.')
    .option('--group <gid>', 'The group id to consume in; without it the partitions are assigned directly.')
    .option('--fetch-size <size>', 'The amount of data to fetch in a single request (max.partition.fetch.bytes).', intArg, 1048576)
    .option('--from-latest', 'Start with the latest record rather than the earliest.')
    .option('--socket-buffer-size <size>', 'Accepted for compatibility (receive.buffer.bytes).', intArg, 2097152)
    .option('--consumer.config <file>', 'Consumer settings file.')
    .option('--command-config <file>', 'Same as --consumer.config.')
    .option('--command-property <prop>', 'A consumer setting key=value (repeatable).', collect)
    .option('--print-metrics', 'Print out the metrics (accepted; the client has none to print yet).')
    .option('--show-detailed-stats', 'Report stats for each reporting interval.')
    .option('--timeout <ms>', 'The maximum allowed time in milliseconds between returned records.', intArg, 10000)
    .option('--messages <n>', 'REQUIRED: The number of messages to consume.', intArg)
    .option('--reporting-interval <ms>', 'Interval between detailed stats lines.', intArg, 5000)
    .option('--date-format <format>', 'The date format (Java SimpleDateFormat letters).', 'yyyy-MM-dd HH:mm:ss:SSS')
    .option('--hide-header', 'Skip the header line.')
    .option('--threads <n>', 'Deprecated; ignored.', intArg)
    .option('--num-fetch-threads <n>', 'Deprecated; ignored.', intArg);
  const opts = parseArgs<ConsumerPerfOptions>(program, argv);
  const servers = opts.bootstrapServer ?? opts.brokerList;
  if (servers === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  if (opts.messages === undefined) throw new CliError('Missing required argument "[messages]"');
  if ((opts.topic === undefined) === (opts.include === undefined)) throw new CliError('Exactly one of --topic or --include is required.');
  const settings = await clientSettings(opts.commandConfig ?? opts['consumer.config'], opts.commandProperty, { 'bootstrap.servers': servers });
  settings['max.partition.fetch.bytes'] = String(opts.fetchSize);
  settings['auto.offset.reset'] = opts.fromLatest ? 'latest' : 'earliest';
  settings['check.crcs'] ??= 'false';
  settings['client.id'] ??= 'perf-consumer-client';
  if (opts.group !== undefined) settings['group.id'] = opts.group;
  const useGroup = settings['group.id'] !== undefined;

  if (!opts.hideHeader) {
    const more = ', rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';
    io.stdout.write(
      opts.showDetailedStats
        ? `time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec${more}\n`
        : `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec${more}\n`,
    );
  }

  const consumer = new Consumer(settings);
  let stopped = false;
  const stopOnSignal = io.onSignal(() => {
    stopped = true;
    consumer.wakeup();
  });
  const startMs = Date.now();
  let joinTimeMs = 0;
  let messagesRead = 0;
  let bytesRead = 0;
  try {
    const topics = opts.topic !== undefined ? [opts.topic] : await matchTopics(settings, opts.include!);
    let joinTimeInRound = 0;
    if (useGroup) {
      // As Kafka's tool: the time from start (or from losing every partition) to the next assignment is rebalance time.
      let assigned = 0;
      let joinStartMs = startMs;
      consumer.subscribe(topics, {
        onPartitionsRevoked: (tps) => {
          assigned -= tps.length;
          if (assigned <= 0) joinStartMs = Date.now();
        },
        onPartitionsAssigned: (tps) => {
          if (assigned <= 0) {
            const elapsed = Date.now() - joinStartMs;
            joinTimeMs += elapsed;
            joinTimeInRound += elapsed;
          }
          assigned += tps.length;
        },
      });
    } else {
      const partitions: TopicPartition[] = [];
      for (const topic of topics) {
        const meta = await consumer.partitionsFor(topic);
        for (const p of meta.partitions) partitions.push({ topic, partition: p.partition });
      }
      consumer.assign(partitions);
      joinTimeMs = Date.now() - startMs;
      joinTimeInRound = joinTimeMs;
    }

    let lastReportMs = Date.now();
    let lastConsumedMs = lastReportMs;
    let lastMessages = 0;
    let lastBytes = 0;
    let now = lastReportMs;
    while (!stopped && messagesRead < opts.messages && now - lastConsumedMs <= opts.timeout) {
      const records = await consumer.poll(100);
      now = Date.now();
      if (records.length > 0) lastConsumedMs = now;
      for (const r of records) {
        messagesRead++;
        if (r.key !== null) bytesRead += r.key.length;
        if (r.value !== null) bytesRead += r.value.length;
        if (now - lastReportMs >= opts.reportingInterval) {
          if (opts.showDetailedStats) {
            const elapsed = now - lastReportMs;
            const intervalMb = (bytesRead - lastBytes) / MB;
            const fetchMs = elapsed - joinTimeInRound;
            io.stdout.write(
              `${formatDate(opts.dateFormat, now)}, 0, ${f4(bytesRead / MB)}, ${f4((1000 * intervalMb) / elapsed)}, ${messagesRead}, ` +
                `${f4(((messagesRead - lastMessages) / elapsed) * 1000)}, ${joinTimeInRound}, ${fetchMs}, ` +
                `${f4(fetchMs <= 0 ? 0 : (1000 * intervalMb) / fetchMs)}, ${f4(fetchMs <= 0 ? 0 : (1000 * (messagesRead - lastMessages)) / fetchMs)}\n`,
            );
          }
          joinTimeInRound = 0;
          lastReportMs = now;
          lastMessages = messagesRead;
          lastBytes = bytesRead;
        }
      }
    }
    if (messagesRead < opts.messages && !stopped) {
      io.stdout.write(
        `WARNING: Exiting before consuming the expected number of messages: timeout (${opts.timeout} ms) exceeded. You can use the --timeout option to increase the timeout.\n`,
      );
    }
  } finally {
    stopOnSignal();
    await consumer.close();
  }
  const endMs = Date.now();
  if (!opts.showDetailedStats) {
    const elapsedSec = (endMs - startMs) / 1000;
    const fetchTimeMs = endMs - startMs - joinTimeMs;
    const mb = bytesRead / MB;
    io.stdout.write(
      `${formatDate(opts.dateFormat, startMs)}, ${formatDate(opts.dateFormat, endMs)}, ${f4(mb)}, ${f4(mb / elapsedSec)}, ` +
        `${messagesRead}, ${f4(messagesRead / elapsedSec)}, ${joinTimeMs}, ${fetchTimeMs}, ${f4(mb / (fetchTimeMs / 1000))}, ` +
        `${f4(messagesRead / (fetchTimeMs / 1000))}\n`,
    );
  }
  return 0;
}

async function matchTopics(settings: Record<string, string>, include: string): Promise<string[]> {
  const pattern = includeList(include);
  const admin = new Admin(settings);
  try {
    const topics = (await admin.listTopics()).filter((t) => pattern.test(t));
    if (topics.length === 0) throw new CliError(`ganglion consumer-perf-test: no topic matches --include '${include}'`);
    return topics;
  } finally {
    await admin.close();
  }
}
