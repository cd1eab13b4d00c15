/**
 * `ganglion dump-log`, the counterpart of kafka-dump-log.sh: reads log
 * segments (.log), offset and time indexes (.index, .timeindex) and
 * aborted-transaction indexes (.txnindex) offline and prints them in
 * Kafka's format, checking as it goes: batch CRCs (`isvalid`), trailing
 * invalid bytes, non-consecutive offsets (with --deep-iteration), index
 * entries that do not point at the batch they name, time index entries
 * whose timestamp does not match the log or goes backwards.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import {
  ControlRecordType,
  RecordBatch,
  TimestampType,
  compressionName,
  parseControlKey,
  parseTxnMarker,
  type KafkaRecord,
} from '../protocol/records/index.js';
import { CliError, describeError, intArg, newCommand, parseArgs, processIo, runTool, writeOut, type CliIo } from './common.js';

interface DumpLogOptions {
  files?: string;
  printDataLog?: boolean;
  verifyIndexOnly?: boolean;
  indexSanityCheck?: boolean;
  maxMessageSize: number;
  maxBytes: number;
  deepIteration?: boolean;
  valueDecoderClass?: string | true;
  keyDecoderClass?: string | true;
  skipRecordMetadata?: boolean;
  offsetsDecoder?: boolean;
  transactionLogDecoder?: boolean;
  clusterMetadataDecoder?: boolean;
}

const INT_MAX = 2147483647;
/** baseOffset + batchLength. */
const LOG_OVERHEAD = 12;
/** Fixed RecordBatch v2 header. */
const BATCH_HEADER = 61;
/** Bytes up to and including the magic byte. */
const HEADER_UP_TO_MAGIC = 17;
/** Smallest record Kafka accepts as a batch size (the v0 message overhead). */
const MIN_BATCH_SIZE = 14;
const READ_CHUNK = 4 * 1024 * 1024;
const TXN_ENTRY = 34;

const CONTROL_NAMES: Record<number, string> = {
  [ControlRecordType.Abort]: 'ABORT',
  [ControlRecordType.Commit]: 'COMMIT',
  [ControlRecordType.LeaderChange]: 'LEADER_CHANGE',
  [ControlRecordType.SnapshotHeader]: 'SNAPSHOT_HEADER',
  [ControlRecordType.SnapshotFooter]: 'SNAPSHOT_FOOTER',
  [ControlRecordType.KRaftVersion]: 'KRAFT_VERSION',
  [ControlRecordType.KRaftVoters]: 'KRAFT_VOTERS',
};

/** Problems found while dumping, reported on stderr at the end as Kafka does. */
interface Findings {
  indexMismatches: Map<string, Map<number, number>>;
  timeMismatches: Map<string, Array<[number, number]>>;
  outOfOrder: Map<string, Array<[number, number]>>;
  notFound: Map<string, Array<[number, number]>>;
  nonConsecutive: Map<string, Map<number, number>>;
}

function push<K, V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}

/** Buffered output: lines are collected and written in large chunks. */
class Out {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}
  line(s: string): Promise<void> | void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size >= 1 << 16) return this.flush();
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await writeOut(this.stream, text);
  }
}

export async function dumpLog(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'dump-log', () => runDumpLog(argv, io));
}

async function runDumpLog(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'dump-log', 'Print the contents of log segments and indexes, and check them (kafka-dump-log.sh).')
    .option('--files <file1,file2,...>', 'REQUIRED: The comma separated list of data and index log files to be dumped.')
    .option('--print-data-log', 'Print the records\' keys and payloads (implies --deep-iteration).')
    .option('--verify-index-only', 'Only verify the indexes, without printing their entries.')
    .option('--index-sanity-check', 'Only check the indexes\' sanity (what the broker checks at startup).')
    .option('--max-message-size <size>', 'Size of the largest batch.', intArg, 5 * 1024 * 1024)
    .option('--max-bytes <size>', 'Read at most this many bytes of each .log file.', intArg, INT_MAX)
    .option('--deep-iteration', 'Print every record, not only the batches.')
    .option('--value-decoder-class [class]', 'Only the string decoder is supported (implies --print-data-log).')
    .option('--key-decoder-class [class]', 'Only the string decoder is supported (implies --print-data-log).')
    .option('--skip-record-metadata', 'Print only the record contents (and skip control records).')
    .option('--offsets-decoder', 'Not supported yet.')
    .option('--transaction-log-decoder', 'Not supported yet.')
    .option('--cluster-metadata-decoder', 'Not supported yet.');
  const opts = parseArgs<DumpLogOptions>(program, argv);
  if (opts.files === undefined) throw new CliError('Missing required argument "[files]"');
  if (opts.offsetsDecoder || opts.transactionLogDecoder || opts.clusterMetadataDecoder) {
    throw new CliError('The --offsets-decoder, --transaction-log-decoder and --cluster-metadata-decoder options are not supported yet.');
  }
  for (const decoder of [opts.valueDecoderClass, opts.keyDecoderClass]) {
    if (typeof decoder === 'string' && !/(^|\.)StringDecoder$/.test(decoder)) {
      throw new CliError(`Only the string decoder is supported, not ${decoder}`);
    }
  }
  const printData = Boolean(opts.printDataLog || opts.valueDecoderClass || opts.keyDecoderClass);
  const deep = Boolean(opts.deepIteration) || printData;
  const out = new Out(io.stdout);
  const findings: Findings = {
    indexMismatches: new Map(),
    timeMismatches: new Map(),
    outOfOrder: new Map(),
    notFound: new Map(),
    nonConsecutive: new Map(),
  };
  let failed = false;

  for (const file of opts.files.split(',')) {
    await out.line(`Dumping ${file}`);
    const name = basename(file);
    const suffix = name.includes('.') ? name.slice(name.lastIndexOf('.')) : '';
    try {
      switch (suffix) {
        case '.log':
          await dumpSegment(file, out, findings, { deep, printData, skipMetadata: Boolean(opts.skipRecordMetadata), maxBytes: opts.maxBytes });
          break;
        case '.index':
          await dumpOffsetIndex(file, out, findings, Boolean(opts.indexSanityCheck), Boolean(opts.verifyIndexOnly));
          break;
        case '.timeindex':
          await dumpTimeIndex(file, out, findings, Boolean(opts.indexSanityCheck), Boolean(opts.verifyIndexOnly));
          break;
        case '.txnindex':
          await dumpTxnIndex(file, out);
          break;
        case '.snapshot':
          await out.flush();
          io.stderr.write(`Ignoring ${file}: producer-state snapshots are in Ganglion's own format, not Kafka's\n`);
          break;
        default:
          await out.flush();
          io.stderr.write(`Ignoring unknown file ${file}\n`);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') throw error;
      await out.flush();
      io.stderr.write(`${error instanceof CliError ? error.message : describeError(error)}\n`);
      failed = true;
    }
  }
  await out.flush();

  const err: string[] = [];
  for (const [file, mismatches] of findings.indexMismatches) {
    err.push(`Mismatches in :${file}`);
    for (const [indexOffset, logOffset] of [...mismatches].sort((a, b) => b[0] - a[0])) {
      err.push(`  Index offset: ${indexOffset}, log offset: ${logOffset}`);
    }
  }
  for (const [file, list] of findings.timeMismatches) {
    err.push(`Found timestamp mismatch in :${file}`);
    for (const [index, log] of list) err.push(`  Index timestamp: ${index}, log timestamp: ${log}`);
  }
  for (const [file, list] of findings.outOfOrder) {
    err.push(`Found out of order timestamp in :${file}`);
    for (const [index, previous] of list) err.push(`  Index timestamp: ${index}, Previously indexed timestamp: ${previous}`);
  }
  for (const list of findings.notFound.values()) {
    err.push('The following indexed offsets are not found in the log.');
    for (const [index, log] of list) err.push(`Indexed offset: ${index}, found log offset: ${log}`);
  }
  for (const [file, pairs] of findings.nonConsecutive) {
    err.push(`Non-consecutive offsets in ${file}`);
    for (const [a, b] of [...pairs].sort((x, y) => x[0] - y[0])) err.push(`  ${a} is followed by ${b}`);
  }
  if (err.length > 0) io.stderr.write(`${err.join('\n')}\n`);
  return failed ? 1 : 0;
}

/** The base offset a segment or index file is named after. */
function fileBaseOffset(file: string): number {
  const stem = basename(file).split('.')[0]!;
  const n = Number(stem);
  if (stem === '' || !/^\d+$/.test(stem) || !Number.isSafeInteger(n)) {
    throw new CliError(`${file}: the file name does not start with a base offset (like 00000000000000000000.log)`);
  }
  return n;
}

async function openFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (error) {
    throw new CliError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file' : (error as Error).message}`);
  }
}

/**
 * Walks the batches of a segment without loading it whole: reads chunks,
 * yields each complete batch with its position, stops at a truncated
 * batch; `end` tells where the valid part ended.
 */
class SegmentReader {
  /** Bytes of complete batches read (the valid prefix). */
  validBytes = 0;
  constructor(
    private readonly handle: FileHandle,
    private readonly end: number,
    private readonly chunkSize = READ_CHUNK,
  ) {}

  async *batches(from = 0): AsyncGenerator<{ position: number; batch: RecordBatch }> {
    let position = from;
    let chunk = Buffer.alloc(0);
    let chunkStart = from;
    const read = async (at: number, length: number) => {
      const size = Math.min(Math.max(length, this.chunkSize), this.end - at);
      const buf = Buffer.allocUnsafe(Math.max(0, size));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await this.handle.read(buf, got, buf.length - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      chunk = buf.subarray(0, got);
      chunkStart = at;
    };
    for (;;) {
      if (position + HEADER_UP_TO_MAGIC >= this.end) return;
      if (position + LOG_OVERHEAD > chunkStart + chunk.length) await read(position, LOG_OVERHEAD);
      const at = position - chunkStart;
      const size = LOG_OVERHEAD + chunk.readInt32BE(at + 8);
      if (size - LOG_OVERHEAD < MIN_BATCH_SIZE) {
        throw new CliError(`Found record size ${size - LOG_OVERHEAD} smaller than minimum record overhead (${MIN_BATCH_SIZE}) at position ${position}.`);
      }
      if (position > this.end - size) return;
      if (position + size > chunkStart + chunk.length) await read(position, size);
      const batch = new RecordBatch(chunk.subarray(position - chunkStart, position - chunkStart + size));
      yield { position, batch };
      position += size;
      this.validBytes = position - from;
    }
  }
}

interface SegmentOptions {
  deep: boolean;
  printData: boolean;
  skipMetadata: boolean;
  maxBytes: number;
}

function timestampTypeName(batch: RecordBatch): string {
  return batch.timestampType === TimestampType.LogAppendTime ? 'LogAppendTime' : 'CreateTime';
}

function batchLine(batch: RecordBatch, position: number): string {
  if (batch.magic < 2) return `offset: ${batch.lastOffset} position: ${position} magic: ${batch.magic} (legacy message format: not decoded)`;
  const deleteHorizon = batch.hasDeleteHorizon ? `OptionalLong[${batch.baseTimestamp}]` : 'OptionalLong.empty';
  const crcValid = batch.sizeInBytes >= BATCH_HEADER && batch.crc === batch.computeCrc();
  return (
    `baseOffset: ${batch.baseOffset} lastOffset: ${batch.lastOffset} count: ${batch.recordsCount} ` +
    `baseSequence: ${batch.baseSequence} lastSequence: ${batch.lastSequence} producerId: ${batch.producerId} ` +
    `producerEpoch: ${batch.producerEpoch} partitionLeaderEpoch: ${batch.partitionLeaderEpoch} ` +
    `isTransactional: ${batch.isTransactional} isControl: ${batch.isControl} deleteHorizonMs: ${deleteHorizon} ` +
    `position: ${position} ${timestampTypeName(batch)}: ${batch.maxTimestamp} size: ${batch.sizeInBytes} magic: ${batch.magic} ` +
    `compresscodec: ${compressionName(batch.compression)} crc: ${batch.crc} isvalid: ${crcValid}`
  );
}

function recordSequence(batch: RecordBatch, record: KafkaRecord): number {
  const base = batch.baseSequence;
  if (base < 0) return -1;
  return (base + (record.offset - batch.baseOffset)) % 0x80000000;
}

function controlText(record: KafkaRecord): string {
  try {
    const { type } = parseControlKey(record.key);
    if (type === ControlRecordType.Commit || type === ControlRecordType.Abort) {
      const marker = parseTxnMarker(record);
      return ` endTxnMarker: ${marker!.commit ? 'COMMIT' : 'ABORT'} coordinatorEpoch: ${marker!.coordinatorEpoch}`;
    }
    return ` controlType: ${CONTROL_NAMES[type] ?? 'UNKNOWN'}(${type})`;
  } catch (error) {
    return ` controlType: UNKNOWN (${describeError(error)})`;
  }
}

function text(bytes: Buffer): string {
  return new StringDecoder('utf8').end(bytes);
}

async function dumpSegment(file: string, out: Out, findings: Findings, o: SegmentOptions): Promise<void> {
  await out.line(`Log starting offset: ${fileBaseOffset(file)}`);
  const handle = await openFile(file);
  try {
    const size = (await handle.stat()).size;
    const reader = new SegmentReader(handle, Math.min(size, o.maxBytes));
    const absolute = resolve(file);
    let lastOffset = -1;
    for await (const { position, batch } of reader.batches()) {
      await out.line(batchLine(batch, position));
      if (!o.deep || batch.magic < 2) continue;
      let records: Iterable<KafkaRecord>;
      try {
        records = [...(await batch.recordsAsync())];
      } catch (error) {
        await out.line(`| could not read the records of this batch: ${describeError(error)}`);
        continue;
      }
      for (const record of records) {
        if (record.offset !== lastOffset + 1) {
          const pairs = findings.nonConsecutive.get(absolute) ?? new Map<number, number>();
          pairs.set(lastOffset, record.offset);
          findings.nonConsecutive.set(absolute, pairs);
        }
        lastOffset = record.offset;
        let line = '';
        if (!o.skipMetadata) {
          line =
            `| offset: ${record.offset} ${timestampTypeName(batch)}: ${record.timestamp} ` +
            `keySize: ${record.key?.length ?? -1} valueSize: ${record.value?.length ?? -1} ` +
            `sequence: ${recordSequence(batch, record)} headerKeys: [${record.headers.map((h) => h.key).join(',')}]`;
          if (batch.isControl) line += controlText(record);
        }
        if (o.printData && !batch.isControl) {
          let prefix = o.skipMetadata ? '| ' : ' ';
          if (record.key !== null) {
            line += `${prefix}key: ${text(record.key)}`;
            prefix = ' ';
          }
          if (record.value !== null) line += `${prefix}payload: ${text(record.value)}`;
        }
        await out.line(line);
      }
    }
    const trailing = Math.min(size, o.maxBytes) - reader.validBytes;
    if (trailing > 0 && o.maxBytes === INT_MAX) await out.line(`Found ${trailing} invalid bytes at the end of ${basename(file)}`);
  } finally {
    await handle.close();
  }
}

/** Reads a whole (small) file. */
async function readAll(file: string): Promise<Buffer> {
  const handle = await openFile(file);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The last offset of the batch at `position` of a segment, or null past its end. */
async function batchLastOffsetAt(handle: FileHandle, position: number): Promise<number | null> {
  // baseOffset(8) batchLength(4) partitionLeaderEpoch(4) magic(1) crc(4) attributes(2) lastOffsetDelta(4)
  const header = Buffer.alloc(27);
  const { bytesRead } = await handle.read(header, 0, header.length, position);
  if (bytesRead < header.length) return null;
  const base = header.readInt32BE(0) * 2 ** 32 + header.readUInt32BE(4);
  return base + header.readInt32BE(23);
}

function siblingLog(file: string): string {
  return join(dirname(file), `${basename(file).split('.')[0]}.log`);
}

async function dumpOffsetIndex(file: string, out: Out, findings: Findings, sanityOnly: boolean, verifyOnly: boolean): Promise<void> {
  const base = fileBaseOffset(file);
  const data = await readAll(file);
  const entries = Math.floor(data.length / 8);
  if (sanityOnly) {
    if (data.length % 8 !== 0) {
      throw new CliError(`Index file ${file} is corrupt, found ${data.length} bytes which is neither positive nor a multiple of 8.`);
    }
    const last = entries === 0 ? base : base + data.readInt32BE((entries - 1) * 8);
    if (entries > 0 && last < base) {
      throw new CliError(`Corrupt index found, index file (${file}) has non-zero size but the last offset is ${last} which is less than the base offset ${base}.`);
    }
    await out.line(`${file} passed sanity check.`);
    return;
  }
  if (entries === 0) {
    await out.line(`${file} is empty.`);
    return;
  }
  const log = await openFile(siblingLog(file));
  try {
    const absolute = resolve(file);
    for (let i = 0; i < entries; i++) {
      const offset = base + data.readInt32BE(i * 8);
      const position = data.readInt32BE(i * 8 + 4);
      // A preallocated, partly written index ends in zero entries.
      if (offset === base && i > 0) return;
      const logOffset = await batchLastOffsetAt(log, position);
      if (logOffset !== offset) {
        const m = findings.indexMismatches.get(absolute) ?? new Map<number, number>();
        m.set(offset, logOffset ?? -1);
        findings.indexMismatches.set(absolute, m);
      }
      if (!verifyOnly) await out.line(`offset: ${offset} position: ${position}`);
    }
  } finally {
    await log.close();
  }
}

async function dumpTimeIndex(file: string, out: Out, findings: Findings, sanityOnly: boolean, verifyOnly: boolean): Promise<void> {
  const base = fileBaseOffset(file);
  const data = await readAll(file);
  const entries = Math.floor(data.length / 12);
  const readTs = (i: number) => data.readInt32BE(i * 12) * 2 ** 32 + data.readUInt32BE(i * 12 + 4);
  if (sanityOnly) {
    if (data.length % 12 !== 0) {
      throw new CliError(`Time index file ${file} is corrupt, found ${data.length} bytes which is neither positive nor a multiple of 12.`);
    }
    if (entries > 0) {
      const lastOffset = base + data.readInt32BE((entries - 1) * 12 + 8);
      if (lastOffset < base) {
        throw new CliError(`Corrupt time index found, time index file (${file}) has non-zero size but the last offset is ${lastOffset} which is less than the first offset ${base}`);
      }
    }
    await out.line(`${file} passed sanity check.`);
    return;
  }
  const logPath = siblingLog(file);
  const indexPath = join(dirname(file), `${basename(file).split('.')[0]}.index`);
  let offsetIndex: Buffer = Buffer.alloc(0);
  try {
    if ((await stat(indexPath)).isFile()) offsetIndex = await readAll(indexPath);
  } catch {
    // No offset index: scan the segment from its start.
  }
  const log = await openFile(logPath);
  try {
    const size = (await log.stat()).size;
    const absolute = resolve(file);
    let previous = -1;
    for (let i = 0; i < entries; i++) {
      const timestamp = readTs(i);
      const offset = base + data.readInt32BE(i * 12 + 8);
      if (offset === base && i > 0) return;
      const start = lookupPosition(offsetIndex, base, offset);
      const reader = new SegmentReader(log, size, 64 * 1024);
      let match: RecordBatch | null = null;
      for await (const { batch } of reader.batches(start)) {
        if (batch.lastOffset >= offset) {
          match = batch;
          break;
        }
      }
      if (match === null) {
        push(findings.notFound, absolute, [offset, -1]);
      } else if (match.lastOffset !== offset) {
        push(findings.notFound, absolute, [offset, match.lastOffset]);
      } else {
        let max = -1;
        for (const record of await match.recordsAsync()) max = Math.max(max, record.timestamp);
        if (max !== timestamp) push(findings.timeMismatches, absolute, [timestamp, max]);
        if (previous >= timestamp) push(findings.outOfOrder, absolute, [timestamp, previous]);
      }
      if (!verifyOnly) await out.line(`timestamp: ${timestamp} offset: ${offset}`);
      previous = timestamp;
    }
  } finally {
    await log.close();
  }
}

/** Position of the largest offset index entry at or below `offset` (0 when none). */
function lookupPosition(index: Buffer, base: number, offset: number): number {
  let position = 0;
  for (let i = 0; i + 8 <= index.length; i += 8) {
    const entryOffset = base + index.readInt32BE(i);
    if (i > 0 && entryOffset === base) break;
    if (entryOffset > offset) break;
    position = index.readInt32BE(i + 4);
  }
  return position;
}

async function dumpTxnIndex(file: string, out: Out): Promise<void> {
  fileBaseOffset(file);
  const data = await readAll(file);
  const readLong = (at: number) => data.readBigInt64BE(at).toString();
  for (let at = 0; at + TXN_ENTRY <= data.length; at += TXN_ENTRY) {
    await out.line(
      `version: ${data.readInt16BE(at)} producerId: ${readLong(at + 2)} firstOffset: ${readLong(at + 10)} ` +
        `lastOffset: ${readLong(at + 18)} lastStableOffset: ${readLong(at + 26)}`,
    );
  }
}
