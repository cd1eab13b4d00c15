/**
 * `ganglion console-producer`, the counterpart of kafka-console-producer.sh:
 * every line of standard input becomes a record (optionally with a key and
 * headers parsed out of it, as Kafka's LineMessageReader does), sent with
 * the console producer's defaults (linger 1000 ms, acks -1, 3 retries...).
 * Prints a `>` prompt before each line when standard input is a terminal;
 * at end of input it sends what is buffered and exits 0.
 */
import { Producer, type ProducerRecord, type RecordMetadata } from '../client/index.js';
import { readPropertiesFile } from '../config/properties.js';
import {
  CliError,
  clientSettings,
  collect,
  given,
  intArg,
  keyValues,
  logTimestamp,
  newCommand,
  parseArgs,
  processIo,
  runTool,
  signalExitCode,
  type CliIo,
} from './common.js';
import { readLines } from './line-input.js';

interface ProducerCliOptions {
  topic?: string;
  bootstrapServer?: string;
  brokerList?: string;
  sync?: boolean;
  compressionCodec?: string | true;
  batchSize: number;
  messageSendMaxRetries: number;
  retryBackoffMs: number;
  timeout: number;
  requestRequiredAcks: string;
  requestTimeoutMs: number;
  metadataExpiryMs: number;
  maxBlockMs: number;
  maxMemoryBytes: number;
  maxPartitionMemoryBytes: number;
  socketBufferSize: number;
  lineReader?: string;
  property?: string[];
  readerProperty?: string[];
  readerConfig?: string;
  producerProperty?: string[];
  commandProperty?: string[];
  'producer.config'?: string;
  commandConfig?: string;
}

const DEFAULT_READER = 'org.apache.kafka.tools.LineMessageReader';
/** Sends in flight (not yet acknowledged) before reading waits; bounds memory on huge inputs. */
const MAX_OUTSTANDING = 10_000;

/** How lines become records: Kafka's LineMessageReader settings. */
export interface LineReaderConfig {
  parseKey: boolean;
  keySeparator: string;
  parseHeaders: boolean;
  headersDelimiter: string;
  headersSeparator: string;
  headersKeySeparator: string;
  ignoreError: boolean;
  nullMarker: string | null;
}

export function lineReaderConfig(props: ReadonlyMap<string, string>): LineReaderConfig {
  const bool = (k: string) => props.get(k)?.trim().toLowerCase() === 'true';
  const c: LineReaderConfig = {
    parseKey: bool('parse.key'),
    keySeparator: props.get('key.separator') ?? '\t',
    parseHeaders: bool('parse.headers'),
    headersDelimiter: props.get('headers.delimiter') ?? '\t',
    headersSeparator: props.get('headers.separator') ?? ',',
    headersKeySeparator: props.get('headers.key.separator') ?? ':',
    ignoreError: bool('ignore.error'),
    nullMarker: props.get('null.marker') ?? null,
  };
  const distinct = (a: string, an: string, b: string | null, bn: string) => {
    if (a === b) throw new CliError(`${bn} and ${an} may not be equal`);
  };
  distinct(c.headersSeparator, 'headers.separator', c.headersDelimiter, 'headers.delimiter');
  distinct(c.headersKeySeparator, 'headers.key.separator', c.headersDelimiter, 'headers.delimiter');
  distinct(c.headersKeySeparator, 'headers.key.separator', c.headersSeparator, 'headers.separator');
  distinct(c.keySeparator, 'key.separator', c.nullMarker, 'null.marker');
  distinct(c.headersSeparator, 'headers.separator', c.nullMarker, 'null.marker');
  distinct(c.headersDelimiter, 'headers.delimiter', c.nullMarker, 'null.marker');
  distinct(c.headersKeySeparator, 'headers.key.separator', c.nullMarker, 'null.marker');
  return c;
}

/** One line as a record; throws CliError (Kafka's message) for a line that does not parse. */
export function parseLine(c: LineReaderConfig, topic: string, line: string, lineNumber: number): ProducerRecord {
  const cut = (enabled: boolean, from: number, separator: string, what: string): string | null => {
    if (!enabled) return null;
    const at = line.indexOf(separator, from);
    if (at < 0) {
      if (c.ignoreError) return null;
      throw new CliError(`No ${what} found on line number ${lineNumber}: '${line}'`);
    }
    return line.slice(from, at);
  };
  const headers = cut(c.parseHeaders, 0, c.headersDelimiter, 'headers delimiter');
  const headerEnd = headers === null ? 0 : headers.length + c.headersDelimiter.length;
  const key = cut(c.parseKey, headerEnd, c.keySeparator, 'key separator');
  const keyEnd = key === null ? 0 : key.length + c.keySeparator.length;
  const value = line.slice(headerEnd + keyEnd);
  const record: ProducerRecord = {
    topic,
    key: key !== null && key !== c.nullMarker ? Buffer.from(key, 'utf8') : null,
    value: value !== c.nullMarker ? Buffer.from(value, 'utf8') : null,
  };
  if (headers !== null && headers !== c.nullMarker) {
    // As Java's String.split: no separator gives the whole string; trailing empty strings are dropped.
    const pairs = headers.split(c.headersSeparator);
    if (pairs.length > 1) while (pairs.length > 0 && pairs[pairs.length - 1] === '') pairs.pop();
    record.headers = pairs.map((pair) => {
      const at = pair.indexOf(c.headersKeySeparator);
      if (at < 0) {
        if (c.ignoreError) return { key: pair, value: null };
        throw new CliError(`No header key separator found in pair '${pair}' on line number ${lineNumber}`);
      }
      const headerKey = pair.slice(0, at);
      if (headerKey === c.nullMarker) {
        throw new CliError(`Header keys should not be equal to the null marker '${c.nullMarker}' as they can't be null`);
      }
      const headerValue = pair.slice(at + c.headersKeySeparator.length);
      return { key: headerKey, value: headerValue === c.nullMarker ? null : Buffer.from(headerValue, 'utf8') };
    });
  }
  return record;
}

export async function consoleProducer(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'console-producer', () => runConsoleProducer(argv, io));
}

async function runConsoleProducer(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'console-producer', 'Read lines from standard input and publish them to a topic (kafka-console-producer.sh).')
    .option('--topic <topic>', 'REQUIRED: The topic to produce messages to.')
    .option('--bootstrap-server <server>', 'REQUIRED unless --broker-list is given: the server(s) to connect to (HOST1:PORT1,HOST2:PORT2).')
    .option('--broker-list <list>', 'DEPRECATED, use --bootstrap-server; ignored if --bootstrap-server is given.')
    .option('--sync', 'Send each record synchronously, one at a time, as it arrives.')
    .option('--compression-codec [codec]', "The compression codec: 'none', 'gzip', 'snappy', 'lz4' or 'zstd'; alone it means 'gzip'.")
    .option('--batch-size <size>', 'Target batch size in bytes (batch.size).', intArg, 16384)
    .option('--message-send-max-retries <n>', 'Retries before a record is dropped (retries).', intArg, 3)
    .option('--retry-backoff-ms <ms>', 'Wait before each retry (retry.backoff.ms).', intArg, 100)
    .option('--timeout <ms>', 'How long a record may wait for its batch to fill (linger.ms).', intArg, 1000)
    .option('--request-required-acks <acks>', 'The acks of the producer requests (acks).', '-1')
    .option('--request-timeout-ms <ms>', 'The ack timeout of the producer requests (request.timeout.ms).', intArg, 1500)
    .option('--metadata-expiry-ms <ms>', 'Metadata refresh interval (metadata.max.age.ms).', intArg, 300000)
    .option('--max-block-ms <ms>', 'How long a send may block (max.block.ms).', intArg, 60000)
    .option('--max-memory-bytes <bytes>', 'Memory for records waiting to be sent (buffer.memory).', intArg, 33554432)
    .option('--max-partition-memory-bytes <bytes>', 'Batch size per partition (batch.size).', intArg, 16384)
    .option('--socket-buffer-size <size>', 'Accepted for compatibility (send.buffer.bytes).', intArg, 102400)
    .option('--line-reader <class>', 'Only the default line reader is supported.')
    .option('--property <prop>', 'Line reader setting: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error (repeatable).', collect)
    .option('--reader-property <prop>', 'Same as --property.', collect)
    .option('--reader-config <file>', 'Line reader settings file (--property wins).')
    .option('--producer-property <prop>', 'A producer setting key=value (repeatable).', collect)
    .option('--command-property <prop>', 'Same as --producer-property.', collect)
    .option('--producer.config <file>', 'Producer settings file (--producer-property wins).')
    .option('--command-config <file>', 'Same as --producer.config.');
  const opts = parseArgs<ProducerCliOptions>(program, argv);
  if (opts.topic === undefined) throw new CliError('Missing required argument "[topic]"');
  const servers = opts.bootstrapServer ?? opts.brokerList;
  if (servers === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  if (opts.lineReader !== undefined && opts.lineReader !== DEFAULT_READER) {
    throw new CliError(`Only the default line reader (${DEFAULT_READER}) is supported, not ${opts.lineReader}`);
  }
  const codec = opts.compressionCodec === undefined ? 'none' : opts.compressionCodec === true ? 'gzip' : opts.compressionCodec;

  const readerProps = new Map<string, string>();
  if (opts.readerConfig !== undefined) for (const [k, v] of await readPropertiesFile(opts.readerConfig)) readerProps.set(k, v);
  for (const [k, v] of keyValues([...(opts.property ?? []), ...(opts.readerProperty ?? [])])) readerProps.set(k, v);
  const reader = lineReaderConfig(readerProps);

  const settings = await clientSettings(opts.commandConfig ?? opts['producer.config'], [...(opts.producerProperty ?? []), ...(opts.commandProperty ?? [])], {
    'bootstrap.servers': servers,
    'compression.type': codec,
  });
  settings['client.id'] ??= 'console-producer';
  const merge = (key: string, attribute: keyof ProducerCliOptions) => {
    if (given(program, attribute) || settings[key] === undefined) settings[key] = String(opts[attribute]);
  };
  merge('linger.ms', 'timeout');
  merge('acks', 'requestRequiredAcks');
  merge('request.timeout.ms', 'requestTimeoutMs');
  merge('retries', 'messageSendMaxRetries');
  merge('retry.backoff.ms', 'retryBackoffMs');
  merge('send.buffer.bytes', 'socketBufferSize');
  merge('buffer.memory', 'maxMemoryBytes');
  merge('batch.size', 'batchSize');
  if (given(program, 'maxPartitionMemoryBytes')) settings['batch.size'] = String(opts.maxPartitionMemoryBytes);
  merge('metadata.max.age.ms', 'metadataExpiryMs');
  merge('max.block.ms', 'maxBlockMs');
  // As the Java producer does when delivery.timeout.ms is left unset: at least linger + request timeout.
  if (settings['delivery.timeout.ms'] === undefined) {
    const floor = Number(settings['linger.ms']) + Number(settings['request.timeout.ms']);
    if (Number.isFinite(floor) && floor > 120000) settings['delivery.timeout.ms'] = String(floor);
  }

  const producer = new Producer(settings);
  const topic = opts.topic;
  const prompt = io.stdin.isTTY === true;
  let stopSignal: NodeJS.Signals | null = null;
  let outstanding = 0;
  let wakeReader: (() => void) | null = null;
  let fatal: Error | null = null;
  const lines = readLines(io.stdin);
  const stopReading = io.onSignal((signal) => {
    stopSignal = signal;
    wakeReader?.();
    void lines.return(undefined);
    // Unblock a pending read on a terminal.
    (io.stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  });

  const reportFailure = (record: ProducerRecord, error: Error) => {
    const size = (b: ProducerRecord['key']) => (b === null || b === undefined ? 'null' : `${Buffer.byteLength(b)} bytes`);
    io.stderr.write(
      `${logTimestamp()} ERROR Error when sending message to topic ${record.topic} with key: ${size(record.key)}, value: ${size(record.value)} with error: ${error.message}\n`,
    );
  };

  try {
    let lineNumber = 0;
    for (;;) {
      if (prompt) io.stdout.write('>');
      let next: IteratorResult<string>;
      try {
        next = await lines.next();
      } catch (error) {
        if (stopSignal !== null) break;
        throw error;
      }
      if (next.done || stopSignal !== null) break;
      lineNumber++;
      const record = parseLine(reader, topic, next.value, lineNumber);
      if (opts.sync) {
        try {
          // One record at a time, acknowledged before the next line; no point lingering for a batch.
          const sent = producer.send(record);
          await producer.flush();
          await sent;
        } catch (error) {
          reportFailure(record, error as Error);
          fatal = error as Error;
          break;
        }
        continue;
      }
      outstanding++;
      producer.send(record).then(
        (_: RecordMetadata) => settle(),
        (error: Error) => {
          reportFailure(record, error);
          settle();
        },
      );
      if (outstanding >= MAX_OUTSTANDING) {
        await new Promise<void>((resolve) => (wakeReader = resolve));
        wakeReader = null;
      }
    }
  } finally {
    stopReading();
    await producer.close();
  }
  if (fatal !== null) return 1;
  return stopSignal !== null ? signalExitCode(stopSignal) : 0;

  function settle(): void {
    outstanding--;
    if (outstanding < MAX_OUTSTANDING / 2 && wakeReader !== null) wakeReader();
  }
}
