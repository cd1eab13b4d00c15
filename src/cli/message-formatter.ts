/**
 * How the console consumer prints a record: Kafka's DefaultMessageFormatter
 * (print.timestamp, print.partition, print.offset, print.headers,
 * print.key, print.value, key.separator, line.separator,
 * headers.separator, null.literal, and the common Java deserializers by
 * class name).
 */
import type { ConsumerRecord } from '../client/index.js';
import { CliError } from './common.js';

type Deserializer = (bytes: Buffer) => Buffer;

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function fixedWidth(size: number, name: string, read: (b: Buffer) => string): Deserializer {
  return (bytes) => {
    if (bytes.length !== size) throw new Error(`Size of data received by ${name} is not ${size}`);
    return utf8(read(bytes));
  };
}

function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const DESERIALIZERS: Record<string, Deserializer> = {
  StringDeserializer: (b) => b,
  ByteArrayDeserializer: (b) => b,
  ByteBufferDeserializer: (b) => b,
  BytesDeserializer: (b) => b,
  VoidDeserializer: () => utf8('null'),
  LongDeserializer: fixedWidth(8, 'LongDeserializer', (b) => b.readBigInt64BE(0).toString()),
  IntegerDeserializer: fixedWidth(4, 'IntegerDeserializer', (b) => String(b.readInt32BE(0))),
  ShortDeserializer: fixedWidth(2, 'ShortDeserializer', (b) => String(b.readInt16BE(0))),
  DoubleDeserializer: fixedWidth(8, 'DoubleDeserializer', (b) => javaDouble(b.readDoubleBE(0))),
  FloatDeserializer: fixedWidth(4, 'FloatDeserializer', (b) => javaDouble(b.readFloatBE(0))),
  BooleanDeserializer: fixedWidth(1, 'BooleanDeserializer', (b) => String(b[0] !== 0)),
  UUIDDeserializer: (b) => b,
};

/** Java's Double.toString for the usual cases (always a decimal point). */
function javaDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return Number.isInteger(n) && Math.abs(n) < 1e7 ? `${n}.0` : String(n);
}

function deserializer(className: string | undefined): Deserializer | null {
  if (className === undefined || className === '') return null;
  const simple = className.slice(className.lastIndexOf('.') + 1);
  const d = DESERIALIZERS[simple];
  if (d === undefined) {
    throw new CliError(`Unsupported deserializer ${className} (supported: ${Object.keys(DESERIALIZERS).join(', ')})`);
  }
  return simple === 'UUIDDeserializer' ? (b) => (b.length === 16 ? utf8(uuidText(b)) : b) : d;
}

export class MessageFormatter {
  private readonly printTimestamp: boolean;
  private readonly printKey: boolean;
  private readonly printValue: boolean;
  private readonly printPartition: boolean;
  private readonly printOffset: boolean;
  private readonly printHeaders: boolean;
  private readonly keySeparator: Buffer;
  private readonly lineSeparator: Buffer;
  private readonly headersSeparator: Buffer;
  private readonly nullLiteral: Buffer;
  private readonly keyDeserializer: Deserializer | null;
  private readonly valueDeserializer: Deserializer | null;
  private readonly headersDeserializer: Deserializer | null;

  constructor(props: ReadonlyMap<string, string>) {
    const bool = (k: string, def: boolean) => (props.has(k) ? props.get(k)!.trim().toLowerCase() === 'true' : def);
    const bytes = (k: string, def: string) => utf8(props.get(k) ?? def);
    this.printTimestamp = bool('print.timestamp', false);
    this.printKey = bool('print.key', false);
    this.printValue = bool('print.value', true);
    this.printPartition = bool('print.partition', false);
    this.printOffset = bool('print.offset', false);
    this.printHeaders = bool('print.headers', false);
    this.keySeparator = bytes('key.separator', '\t');
    this.lineSeparator = bytes('line.separator', '\n');
    this.headersSeparator = bytes('headers.separator', ',');
    this.nullLiteral = bytes('null.literal', 'null');
    this.keyDeserializer = deserializer(props.get('key.deserializer'));
    this.valueDeserializer = deserializer(props.get('value.deserializer'));
    this.headersDeserializer = deserializer(props.get('headers.deserializer'));
  }

  private bytes(b: Buffer | null, d: Deserializer | null): Buffer {
    if (b === null) return this.nullLiteral;
    return d === null ? b : d(b);
  }

  /** Appends the record's rendering to `out`. */
  format(r: ConsumerRecord, out: Buffer[]): void {
    const sep = (more: boolean) => out.push(more ? this.keySeparator : this.lineSeparator);
    if (this.printTimestamp) {
      out.push(utf8(`${r.timestampType}:${r.timestamp}`));
      sep(this.printPartition || this.printOffset || this.printHeaders || this.printKey || this.printValue);
    }
    if (this.printPartition) {
      out.push(utf8(`Partition:${r.partition}`));
      sep(this.printOffset || this.printHeaders || this.printKey || this.printValue);
    }
    if (this.printOffset) {
      out.push(utf8(`Offset:${r.offset}`));
      sep(this.printHeaders || this.printKey || this.printValue);
    }
    if (this.printHeaders) {
      if (r.headers.length === 0) out.push(utf8('NO_HEADERS'));
      r.headers.forEach((h, i) => {
        out.push(utf8(`${h.key}:`), this.bytes(h.value, this.headersDeserializer));
        if (i < r.headers.length - 1) out.push(this.headersSeparator);
      });
      sep(this.printKey || this.printValue);
    }
    if (this.printKey) {
      out.push(this.bytes(r.key, this.keyDeserializer));
      sep(this.printValue);
    }
    if (this.printValue) {
      out.push(this.bytes(r.value, this.valueDeserializer), this.lineSeparator);
    }
  }
}
