/**
 * `ganglion producer-perf-test`, the counterpart of
 * kafka-producer-perf-test.sh: sends --num-records records of --record-size
 * bytes (or lines of --payload-file) as fast as allowed by --throughput
 * (records/s, -1 for no limit), printing a progress line every reporting
 * interval and Kafka's summary line (records/s, MB/s, average, max and
 * percentile latencies) at the end.
 */
import { readFile } from 'node:fs/promises';
import { Producer, type ProducerRecord } from '../client/index.js';
import { CliError, clientSettings, collect, intArg, newCommand, parseArgs, processIo, runTool, type CliIo } from './common.js';

interface PerfOptions {
  topic?: string;
  numRecords?: number;
  recordSize?: number;
  payloadFile?: string;
  payloadDelimiter: string;
  payloadMonotonic?: boolean;
  throughput?: string;
  producerProps?: string[];
  'producer.config'?: string;
  commandConfig?: string;
  commandProperty?: string[];
  bootstrapServer?: string;
  printMetrics?: boolean;
  transactionalId?: string;
  transactionDurationMs?: number;
  reportingInterval: number;
}

/** Latencies kept for the percentiles (Kafka samples at most this many). */
const MAX_SAMPLES = 500_000;

const MB = 1024 * 1024;

/** Java's `%.Nf`. */
const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity');

/** Throughput and latency accounting, reported the way Kafka's ProducerPerformance does. */
export class PerfStats {
  private readonly start = Date.now();
  private windowStart = Date.now();
  private readonly latencies: Int32Array;
  private readonly sampling: number;
  private samples = 0;
  private iteration = 0;
  count = 0;
  bytes = 0;
  private maxLatency = 0;
  private totalLatency = 0;
  private windowCount = 0;
  private windowMaxLatency = 0;
  private windowTotalLatency = 0;
  private windowBytes = 0;

  constructor(
    numRecords: number,
    private readonly reportingIntervalMs: number,
    private readonly print: (line: string) => void,
  ) {
    this.sampling = Math.max(1, Math.floor(numRecords / Math.max(1, Math.min(numRecords, MAX_SAMPLES))));
    this.latencies = new Int32Array(Math.floor(numRecords / this.sampling) + 1);
  }

  /** One acknowledged record: `iteration` is its send index. */
  record(iteration: number, latencyMs: number, bytes: number, now: number): void {
    this.count++;
    this.bytes += bytes;
    this.totalLatency += latencyMs;
    this.maxLatency = Math.max(this.maxLatency, latencyMs);
    this.windowCount++;
    this.windowBytes += bytes;
    this.windowTotalLatency += latencyMs;
    this.windowMaxLatency = Math.max(this.windowMaxLatency, latencyMs);
    if (iteration % this.sampling === 0 && this.samples < this.latencies.length) this.latencies[this.samples++] = latencyMs;
    if (now - this.windowStart >= this.reportingIntervalMs) {
      this.printWindow(now);
      this.newWindow(now);
    }
  }

  nextIteration(): number {
    return this.iteration++;
  }

  private printWindow(now: number): void {
    const elapsed = now - this.windowStart;
    const recsPerSec = (1000 * this.windowCount) / elapsed;
    const mbPerSec = (1000 * this.windowBytes) / elapsed / MB;
    this.print(
      `${this.windowCount} records sent, ${fixed(recsPerSec, 1)} records/sec (${fixed(mbPerSec, 2)} MB/sec), ` +
        `${fixed(this.windowTotalLatency / this.windowCount, 1)} ms avg latency, ${fixed(this.windowMaxLatency, 1)} ms max latency.`,
    );
  }

  private newWindow(now: number): void {
    this.windowStart = now;
    this.windowCount = 0;
    this.windowMaxLatency = 0;
    this.windowTotalLatency = 0;
    this.windowBytes = 0;
  }

  /** The final summary line. */
  total(now = Date.now()): string {
    const elapsed = now - this.start;
    const recsPerSec = (1000 * this.count) / elapsed;
    const mbPerSec = (1000 * this.bytes) / elapsed / MB;
    const sorted = this.latencies.slice(0, this.samples).sort();
    const pct = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
    return (
      `${this.count} records sent, ${fixed(recsPerSec, 6)} records/sec (${fixed(mbPerSec, 2)} MB/sec), ` +
      `${fixed(this.totalLatency / this.count, 2)} ms avg latency, ${fixed(this.maxLatency, 2)} ms max latency, ` +
      `${pct(0.5)} ms 50th, ${pct(0.95)} ms 95th, ${pct(0.99)} ms 99th, ${pct(0.999)} ms 99.9th.`
    );
  }
}

/** Kafka's default payload: `size` random upper-case letters. */
function randomPayload(size: number): Buffer {
  const payload = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) payload[i] = 65 + Math.floor(Math.random() * 26);
  return payload;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function producerPerfTest(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'producer-perf-test', () => runProducerPerfTest(argv, io));
}

async function runProducerPerfTest(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'producer-perf-test', 'Measure producer throughput and latency (kafka-producer-perf-test.sh).')
    .option('--topic <topic>', 'REQUIRED: The topic to produce to.')
    .option('--num-records <n>', 'REQUIRED: Number of records to produce.', intArg)
    .option('--record-size <bytes>', 'Record size in bytes (one of --record-size, --payload-file, --payload-monotonic).', intArg)
    .option('--payload-file <file>', 'File of payloads, split by --payload-delimiter; each record takes one at random.')
    .option('--payload-delimiter <delimiter>', 'Delimiter of the payloads in --payload-file.', '\\n')
    .option('--payload-monotonic', 'Payloads are the record numbers 0, 1, 2... as text.')
    .option('--throughput <n>', 'REQUIRED: Throttle to about this many records/s; -1 for no limit.')
    .option('--producer-props <prop...>', 'Producer settings: bootstrap.servers=host:port acks=1 ...')
    .option('--producer.config <file>', 'Producer settings file.')
    .option('--command-config <file>', 'Same as --producer.config.')
    .option('--command-property <prop>', 'A producer setting key=value (repeatable).', collect)
    .option('--bootstrap-server <server>', 'The server(s) to connect to (overrides bootstrap.servers).')
    .option('--print-metrics', 'Print the producer metrics at the end.')
    .option('--transactional-id <id>', 'Not supported yet (transactions).')
    .option('--transaction-duration-ms <ms>', 'Not supported yet (transactions).', intArg)
    .option('--reporting-interval <ms>', 'Interval between progress lines.', intArg, 5000);
  const opts = parseArgs<PerfOptions>(program, argv);
  if (opts.topic === undefined) throw new CliError('Missing required argument "[topic]"');
  if (opts.numRecords === undefined) throw new CliError('Missing required argument "[num-records]"');
  if (opts.throughput === undefined) throw new CliError('Missing required argument "[throughput]"');
  const throughput = Number(opts.throughput);
  if (opts.throughput.trim() === '' || !Number.isFinite(throughput)) throw new CliError(`Invalid --throughput ${opts.throughput}`);
  const payloadSources = [opts.recordSize !== undefined, opts.payloadFile !== undefined, opts.payloadMonotonic === true].filter(Boolean).length;
  if (payloadSources !== 1) {
    throw new CliError('Either --record-size or --payload-file or --payload-monotonic must be specified but not more than one.');
  }
  if (opts.recordSize !== undefined && opts.recordSize < 0) throw new CliError('--record-size must not be negative');
  if (opts.numRecords < 0) throw new CliError('--num-records must not be negative');
  if (opts.transactionalId !== undefined || opts.transactionDurationMs !== undefined) {
    throw new CliError('Transactions (--transactional-id, --transaction-duration-ms) are not supported by Ganglion yet.');
  }
  if (opts.producerProps === undefined && opts['producer.config'] === undefined && opts.commandConfig === undefined && opts.bootstrapServer === undefined) {
    throw new CliError('Either --producer-props or --producer.config must be specified.');
  }

  let payloads: Buffer[] = [];
  if (opts.payloadFile !== undefined) {
    const delimiter = opts.payloadDelimiter.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\r/g, '\r');
    let text: string;
    try {
      text = await readFile(opts.payloadFile, 'utf8');
    } catch (error) {
      throw new CliError(`Cannot read --payload-file ${opts.payloadFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    payloads = text.split(delimiter).filter((p) => p !== '').map((p) => Buffer.from(p, 'utf8'));
    io.stdout.write(`Reading payloads from: ${opts.payloadFile}\n`);
    if (payloads.length === 0) throw new CliError(`File is empty: ${opts.payloadFile}`);
    io.stdout.write(`Number of messages read: ${payloads.length}\n`);
  }
  const fixedPayload = opts.recordSize !== undefined ? randomPayload(opts.recordSize) : null;

  const settings = await clientSettings(opts.commandConfig ?? opts['producer.config'], [...(opts.producerProps ?? []), ...(opts.commandProperty ?? [])], {
    'bootstrap.servers': opts.bootstrapServer,
  });
  settings['client.id'] ??= 'perf-producer-client';
  if (settings['bootstrap.servers'] === undefined) throw new CliError('Missing bootstrap.servers: give --bootstrap-server or --producer-props bootstrap.servers=host:port');

  const producer = new Producer(settings);
  const numRecords = opts.numRecords;
  const print = (line: string) => io.stdout.write(`${line}\n`);
  const stats = new PerfStats(numRecords, opts.reportingInterval, print);
  const bufferMemory = Number(producer.config.int('buffer.memory'));
  const recordBytes = fixedPayload?.length ?? Math.max(1, ...payloads.slice(0, 100).map((p) => p.length));
  // Records in flight before the send loop waits for acknowledgements (Java's send blocks on buffer.memory instead).
  const maxOutstanding = Math.max(1024, Math.floor(bufferMemory / Math.max(64, recordBytes + 64)));
  let outstanding = 0;
  let wake: (() => void) | null = null;
  let errors = 0;
  let stopped = false;
  const stopOnSignal = io.onSignal(() => {
    stopped = true;
    wake?.();
  });

  const onDone = (iteration: number, sentAt: number, bytes: number) => (error?: Error) => {
    outstanding--;
    const now = Date.now();
    if (error === undefined) stats.record(iteration, now - sentAt, bytes, now);
    else if (++errors <= 100) io.stderr.write(`Error when sending record ${iteration}: ${error.message}${errors === 100 ? ' (further errors not shown)' : ''}\n`);
    if (wake !== null && outstanding <= (maxOutstanding * 3) / 4) {
      const w = wake;
      wake = null;
      w();
    }
  };

  const startMs = Date.now();
  try {
    for (let i = 0; i < numRecords && !stopped; i++) {
      const value = fixedPayload ?? (opts.payloadMonotonic ? Buffer.from(String(i)) : payloads[Math.floor(Math.random() * payloads.length)]!);
      const record: ProducerRecord = { topic: opts.topic, value };
      const iteration = stats.nextIteration();
      const sentAt = Date.now();
      const done = onDone(iteration, sentAt, value.length);
      outstanding++;
      producer.send(record).then(() => done(), done);

      if (throughput > 0) {
        // Kafka's ThroughputThrottler: stay at or under `throughput` records per second on average.
        const dueAt = startMs + ((i + 1) * 1000) / throughput;
        const ahead = dueAt - Date.now();
        if (ahead >= 1) await sleep(ahead);
      } else if ((i & 1023) === 1023) {
        await yieldToIo();
      }
      if (outstanding >= maxOutstanding) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    await producer.flush();
    print(stats.total());
    if (opts.printMetrics) printMetrics(io, producer);
  } finally {
    stopOnSignal();
    await producer.close();
  }
  return 0;
}

function printMetrics(io: CliIo, producer: Producer): void {
  const metrics = producer.metrics() as unknown as Record<string, number>;
  const rows = Object.entries(metrics).map(([name, value]) => [
    `producer-metrics:${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}:{client-id=${producer.clientId}}`,
    fixed(value, 3),
  ]);
  const width = Math.max(11, ...rows.map(([n]) => n!.length)) + 2;
  const lines = [`\n${'Metric Name'.padEnd(width)}Value`, ...rows.map(([n, v]) => `${n!.padEnd(width)}: ${v}`)];
  io.stdout.write(`${lines.join('\n')}\n`);
}
