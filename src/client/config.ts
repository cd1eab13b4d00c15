/**
 * Client settings under Kafka's names (`bootstrap.servers`, `linger.ms`,
 * `fetch.max.wait.ms`...), with the Java client's defaults.
 *
 * A client takes a plain object keyed by those names. Values may be numbers,
 * booleans or strings (as read from a .properties file or a
 * `--producer-property k=v` flag): `{ 'linger.ms': 10 }` and
 * `{ 'linger.ms': '10' }` mean the same. Each client resolves its object
 * once, at construction, into typed values; a bad value throws `ConfigError`
 * naming the setting. Keys no client knows are kept in `unknownKeys` (the
 * Java client logs those and goes on; so do we).
 */
import { ConfigError } from '../config/errors.js';

/** A setting value as a caller may pass it. */
export type ConfigValue = string | number | boolean | readonly string[] | null | undefined;

/** Settings every client understands. */
export interface CommonClientConfig {
  /** `host:port` pairs, comma separated or as an array; the client tries them in turn until one answers. */
  'bootstrap.servers'?: string | readonly string[];
  /** Sent in every request header; shows up in broker logs. */
  'client.id'?: string;
  /** How long to wait for a response before failing the request and dropping the connection. Default 30000. */
  'request.timeout.ms'?: number | string;
  /** First delay before reconnecting to a broker; doubles per failure. Default 50. */
  'reconnect.backoff.ms'?: number | string;
  /** Cap for the reconnect delay. Default 1000. */
  'reconnect.backoff.max.ms'?: number | string;
  /** First delay before retrying a failed request; doubles per attempt. Default 100. */
  'retry.backoff.ms'?: number | string;
  /** Cap for the retry delay. Default 1000. */
  'retry.backoff.max.ms'?: number | string;
  /** Metadata older than this is refreshed even without an error. Default 300000. */
  'metadata.max.age.ms'?: number | string;
  /** Timeout for establishing a TCP connection (and its ApiVersions handshake). Default 10000. */
  'socket.connection.setup.timeout.ms'?: number | string;
  /** Upper bound for the connection setup timeout. Default 30000. */
  'socket.connection.setup.timeout.max.ms'?: number | string;
  /** Only PLAINTEXT is supported. */
  'security.protocol'?: string;
  /** Rack of this client; sent with fetches (rack-aware brokers). */
  'client.rack'?: string;
  /** Default timeout of client operations that have no other bound (admin calls, consumer offset lookups). Default 60000. */
  'default.api.timeout.ms'?: number | string;
  /** Largest response frame accepted from a broker, in bytes. Default 104857600. Ganglion-specific. */
  'socket.max.response.bytes'?: number | string;
}

/** Producer settings (plus the common ones). */
export interface ProducerConfig extends CommonClientConfig {
  /** `all`/`-1` (every in-sync replica), `1` (the leader) or `0` (no acknowledgement). Default `all`. */
  acks?: 'all' | '-1' | '0' | '1' | -1 | 0 | 1;
  /** Target size of a batch (per partition) in bytes, before compression. Default 16384. */
  'batch.size'?: number | string;
  /** How long a batch waits for more records before it is sent. Default 5. */
  'linger.ms'?: number | string;
  /** Total bytes of records waiting to be sent; `send` waits for room up to `max.block.ms`. Default 33554432. */
  'buffer.memory'?: number | string;
  /** How long `send` may wait for metadata or buffer room before failing. Default 60000. */
  'max.block.ms'?: number | string;
  /** `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default `none`. */
  'compression.type'?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** gzip level 1-9 (default: the codec's). */
  'compression.gzip.level'?: number | string;
  /** zstd level 1-22 (default: the codec's). */
  'compression.zstd.level'?: number | string;
  /** Largest produce request (and so the largest record) in bytes. Default 1048576. */
  'max.request.size'?: number | string;
  /** How often a failed batch is resent; bounded by `delivery.timeout.ms`. Default 2147483647. */
  retries?: number | string;
  /** Upper bound on the time from `send` to success or failure. Default 120000. */
  'delivery.timeout.ms'?: number | string;
  /** Produce requests in flight per broker connection. Default 5. */
  'max.in.flight.requests.per.connection'?: number | string;
  /** Whether a keyed record's key is ignored for partitioning (sticky instead). Default false. */
  'partitioner.ignore.keys'?: boolean | string;
  /** Whether sending to an unknown topic may create it (if the broker allows). Default true. */
  'allow.auto.create.topics'?: boolean | string;
  /**
   * Producer ids and sequence numbers: the broker drops a resent batch it
   * already has and keeps order with several batches in flight. Default
   * true when acks=all, retries > 0 and at most 5 requests in flight (as the
   * Java client); setting it to true requires those.
   */
  'enable.idempotence'?: boolean | string;
  /** Makes the producer transactional (implies idempotence): see `initTransactions()`. Default none. */
  'transactional.id'?: string | null;
  /** How long the coordinator lets a transaction stay open before aborting it (ms). Default 60000. */
  'transaction.timeout.ms'?: number | string;
}

/** Consumer settings (plus the common ones). */
export interface ConsumerConfig extends CommonClientConfig {
  /** Where to start when a partition has no valid position: `earliest`, `latest` or `none` (throw). Default `latest`. */
  'auto.offset.reset'?: 'earliest' | 'latest' | 'none';
  /** Least data a fetch returns; the broker waits up to `fetch.max.wait.ms` for it. Default 1. */
  'fetch.min.bytes'?: number | string;
  /** Most data one fetch returns (a first batch larger than this is still returned). Default 52428800. */
  'fetch.max.bytes'?: number | string;
  /** Most data per partition per fetch. Default 1048576. */
  'max.partition.fetch.bytes'?: number | string;
  /** How long the broker may hold a fetch waiting for `fetch.min.bytes`. Default 500. */
  'fetch.max.wait.ms'?: number | string;
  /** Most records one `poll` returns. Default 500. */
  'max.poll.records'?: number | string;
  /** `read_uncommitted` or `read_committed`. Default `read_uncommitted`. */
  'isolation.level'?: 'read_uncommitted' | 'read_committed';
  /** Whether record batch CRCs are checked. Default true. */
  'check.crcs'?: boolean | string;
  /** Whether fetching metadata for an unknown topic may create it (if the broker allows). Default true. */
  'allow.auto.create.topics'?: boolean | string;
  /** The consumer group (used once group membership lands; `assign` works without it). */
  'group.id'?: string;
}

/** Admin settings (the common ones). */
export type AdminConfig = CommonClientConfig;

/** What a client accepts: typed Kafka settings plus any other key (kept as unknown). */
export type ConfigInput<T> = T & { readonly [key: string]: ConfigValue };

type Kind = 'int' | 'long' | 'boolean' | 'string' | 'list' | 'enum';

interface Definition {
  kind: Kind;
  default: unknown;
  min?: number;
  max?: number;
  values?: readonly string[];
}

const INT_MAX = 2147483647;

const int = (def: number, min = 0, max = INT_MAX): Definition => ({ kind: 'int', default: def, min, max });
const long = (def: number, min = 0): Definition => ({ kind: 'long', default: def, min, max: Number.MAX_SAFE_INTEGER });
const bool = (def: boolean): Definition => ({ kind: 'boolean', default: def });
const str = (def: string | null): Definition => ({ kind: 'string', default: def });
const list = (def: string[]): Definition => ({ kind: 'list', default: def });
const oneOf = (def: string, values: readonly string[]): Definition => ({ kind: 'enum', default: def, values });

const COMMON: Record<string, Definition> = {
  'bootstrap.servers': list([]),
  'client.id': str(''),
  'request.timeout.ms': int(30000),
  'reconnect.backoff.ms': long(50),
  'reconnect.backoff.max.ms': long(1000),
  'retry.backoff.ms': long(100),
  'retry.backoff.max.ms': long(1000),
  'metadata.max.age.ms': long(300000),
  'socket.connection.setup.timeout.ms': long(10000),
  'socket.connection.setup.timeout.max.ms': long(30000),
  'security.protocol': oneOf('PLAINTEXT', ['PLAINTEXT']),
  'client.rack': str(''),
  'default.api.timeout.ms': int(60000),
  'socket.max.response.bytes': int(104857600, 1),
};

const PRODUCER: Record<string, Definition> = {
  ...COMMON,
  acks: oneOf('all', ['all', '-1', '0', '1']),
  'batch.size': int(16384),
  'linger.ms': long(5),
  'buffer.memory': long(33554432, 1),
  'max.block.ms': long(60000),
  'compression.type': oneOf('none', ['none', 'gzip', 'snappy', 'lz4', 'zstd']),
  'compression.gzip.level': int(-1, -1, 9),
  'compression.zstd.level': int(3, -131072, 22),
  'max.request.size': int(1048576, 1),
  retries: int(INT_MAX),
  'delivery.timeout.ms': int(120000),
  'max.in.flight.requests.per.connection': int(5, 1),
  'partitioner.ignore.keys': bool(false),
  'allow.auto.create.topics': bool(true),
  'enable.idempotence': bool(true),
  'transactional.id': str(null),
  'transaction.timeout.ms': int(60000, 1),
};

const CONSUMER: Record<string, Definition> = {
  ...COMMON,
  'auto.offset.reset': oneOf('latest', ['earliest', 'latest', 'none']),
  'fetch.min.bytes': int(1),
  'fetch.max.bytes': int(52428800),
  'max.partition.fetch.bytes': int(1048576),
  'fetch.max.wait.ms': int(500),
  'max.poll.records': int(500, 1),
  'isolation.level': oneOf('read_uncommitted', ['read_uncommitted', 'read_committed']),
  'check.crcs': bool(true),
  'allow.auto.create.topics': bool(true),
  'group.id': str(null),
  // Accepted for the group membership to come; not used by manual assignment.
  'enable.auto.commit': bool(true),
  'auto.commit.interval.ms': int(5000),
  'session.timeout.ms': int(45000),
  'heartbeat.interval.ms': int(3000),
  'max.poll.interval.ms': int(300000, 1),
  'group.instance.id': str(null),
  'partition.assignment.strategy': list([]),
};

const ADMIN: Record<string, Definition> = { ...COMMON };

/** Settings that belong to the Java client's serializer/interceptor machinery; accepted and ignored. */
const IGNORED = new Set([
  'key.serializer',
  'value.serializer',
  'key.deserializer',
  'value.deserializer',
  'interceptor.classes',
  'metric.reporters',
  'send.buffer.bytes',
  'receive.buffer.bytes',
  'connections.max.idle.ms',
  'partitioner.class',
  'partitioner.adaptive.partitioning.enable',
  'partitioner.availability.timeout.ms',
  'metadata.max.idle.ms',
  'client.dns.lookup',
  'exclude.internal.topics',
]);

function parseValue(name: string, def: Definition, raw: ConfigValue): unknown {
  const fail = (why: string): never => {
    throw new ConfigError({
      key: name,
      value: raw === null || raw === undefined ? null : String(raw),
      expected: why,
      message: `Invalid value ${Array.isArray(raw) ? raw.join(',') : String(raw)} for configuration ${name}: ${why}`,
    });
  };
  if (raw === undefined) return def.default;
  if (raw === null) {
    if (def.kind === 'string') return null;
    return fail('a value is required');
  }
  switch (def.kind) {
    case 'int':
    case 'long': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN;
      if (!Number.isInteger(n)) fail(`Not a number of type ${def.kind.toUpperCase()}`);
      if (n < def.min! || n > def.max!) {
        fail(def.max === INT_MAX || def.max === Number.MAX_SAFE_INTEGER ? `Value must be at least ${def.min}` : `Value must be in [${def.min}, ${def.max}]`);
      }
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (s === 'true') return true;
      if (s === 'false') return false;
      return fail('Expected value to be either true or false');
    }
    case 'string':
      if (typeof raw !== 'string' && typeof raw !== 'number') fail('Expected a string');
      return String(raw);
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : fail('Expected a comma-separated list');
      return (items as string[]).map((s) => String(s).trim()).filter((s) => s !== '');
    }
    case 'enum': {
      const s = String(raw).trim();
      const found = def.values!.find((v) => v.toLowerCase() === s.toLowerCase());
      if (found === undefined) fail(`String must be one of: ${def.values!.join(', ')}`);
      return found;
    }
  }
}

/** Resolved settings: typed accessors by Kafka name. */
export class ResolvedConfig {
  /** Keys the client does not know (ignored, as the Java client does after logging them). */
  readonly unknownKeys: readonly string[];
  private readonly values: Map<string, unknown>;

  constructor(defs: Record<string, Definition>, input: Readonly<Record<string, ConfigValue>>) {
    this.values = new Map();
    const unknown: string[] = [];
    for (const [name, def] of Object.entries(defs)) this.values.set(name, parseValue(name, def, input[name]));
    for (const key of Object.keys(input)) {
      if (!(key in defs) && !IGNORED.has(key)) unknown.push(key);
    }
    this.unknownKeys = unknown;
  }

  /** The value of any setting this client knows (undefined for others). */
  value(name: string): unknown {
    return this.values.get(name);
  }

  int(name: string): number {
    return this.values.get(name) as number;
  }
  bool(name: string): boolean {
    return this.values.get(name) as boolean;
  }
  string(name: string): string {
    return this.values.get(name) as string;
  }
  nullableString(name: string): string | null {
    return this.values.get(name) as string | null;
  }
  list(name: string): string[] {
    return this.values.get(name) as string[];
  }
}

function requireBootstrap(config: ResolvedConfig): void {
  if (config.list('bootstrap.servers').length === 0) {
    throw new ConfigError({ message: 'Missing required configuration "bootstrap.servers" which has no default value.' });
  }
}

export function resolveProducerConfig(input: Readonly<Record<string, ConfigValue>>): ResolvedConfig {
  const config = new ResolvedConfig(PRODUCER, input);
  requireBootstrap(config);
  const transactional = config.nullableString('transactional.id') !== null;
  // As the Java client: the settings idempotence needs are checked only when it was asked for (by a transactional.id or explicitly).
  const idempotenceSet = input['enable.idempotence'] !== undefined && input['enable.idempotence'] !== null;
  if (transactional && idempotenceSet && !config.bool('enable.idempotence')) {
    throw new ConfigError({
      key: 'enable.idempotence',
      value: String(input['enable.idempotence']),
      message: 'Cannot set a transactional.id without also enabling idempotence.',
    });
  }
  if (transactional || (idempotenceSet && config.bool('enable.idempotence'))) {
    const problem = (key: string, message: string): never => {
      throw new ConfigError({ key, value: String(input[key] ?? ''), message });
    };
    if (config.string('acks') !== 'all' && config.string('acks') !== '-1') {
      problem('acks', 'Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.');
    }
    if (config.int('retries') === 0) problem('retries', 'Must set retries to non-zero when using the idempotent producer.');
    if (config.int('max.in.flight.requests.per.connection') > 5) {
      problem('max.in.flight.requests.per.connection', 'Must set max.in.flight.requests.per.connection to at most 5 when using the idempotent producer.');
    }
  }
  const delivery = config.int('delivery.timeout.ms');
  const floor = config.int('linger.ms') + config.int('request.timeout.ms');
  if (delivery < floor) {
    throw new ConfigError({
      key: 'delivery.timeout.ms',
      value: String(delivery),
      message: `delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms (${delivery} < ${floor})`,
    });
  }
  return config;
}

export function resolveConsumerConfig(input: Readonly<Record<string, ConfigValue>>): ResolvedConfig {
  const config = new ResolvedConfig(CONSUMER, input);
  requireBootstrap(config);
  return config;
}

export function resolveAdminConfig(input: Readonly<Record<string, ConfigValue>>): ResolvedConfig {
  const config = new ResolvedConfig(ADMIN, input);
  requireBootstrap(config);
  return config;
}

/** A broker address. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** Parses `host:port` (IPv6 as `[::1]:9092`); throws ConfigError. */
export function parseAddress(text: string): BrokerAddress {
  const s = text.trim().replace(/^[A-Za-z_]+:\/\//, '');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError({ message: `Invalid url in bootstrap.servers: ${text.trim()} (expected host:port)` });
  }
  return { host: m[1]!, port };
}
