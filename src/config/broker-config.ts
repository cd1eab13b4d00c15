/**
 * The broker's configuration: server.properties + programmatic values +
 * command-line overrides, parsed against the declarations, validated, frozen.
 *
 *   const config = await loadBrokerConfig({ file: 'config/server.properties', overrides: { 'broker.id': '2' } });
 *   config.get('log.segment.bytes')   // number, typed from the declaration
 *   config.logRetentionMs             // derived: ms > minutes > hours, -1 = forever
 *   config.listeners                  // [{ name, host, port, securityProtocol }]
 *
 * Precedence, lowest first: Kafka's default < file < values < overrides, and at
 * runtime < cluster-wide dynamic default < per-broker dynamic value (see
 * withDynamicConfigs). Unknown keys are kept in `originals`, listed in
 * `unknownKeys` for the caller to warn about, and otherwise ignored, as Kafka
 * does. Any bad value throws one ConfigError listing every problem found.
 *
 * Relative log directories are resolved against the process's working
 * directory when the config is built; `logDirs` holds absolute paths.
 * Advertised listeners with an empty host get ADVERTISED_HOST_FALLBACK
 * ('localhost') where Kafka would use the machine's canonical host name: the
 * safe choice for a broker on a laptop; set advertised.listeners for anything else.
 */

import { resolve as resolvePath } from 'node:path';
import {
  BROKER_SETTING_NAMES,
  TOPIC_SETTINGS,
  brokerSetting,
  isBrokerSetting,
  type BrokerSettingName,
  type BrokerSettingValue,
} from './definitions.js';
import { brokerSynonyms, selectNames, type ConfigEntryDescription } from './describe.js';
import { ConfigError, invalidValue, type ConfigIssue, type ConfigProblem } from './errors.js';
import {
  parseListeners,
  parseSecurityProtocolMap,
  parseZooKeeperConnect,
  type Endpoint,
  type SecurityProtocol,
  type ZooKeeperConnect,
} from './listeners.js';
import { readPropertiesFile } from './properties.js';
import { CONFIG_TYPE_CODE, ConfigSource, formatValue, parseAndCheck } from './setting.js';

/** Host advertised for listeners bound to every interface (Kafka: the canonical host name). */
export const ADVERTISED_HOST_FALLBACK = 'localhost';

export type StringMap = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export interface BrokerConfigInput {
  /** Entries of a parsed properties file. */
  readonly properties?: StringMap;
  /** Programmatic values; typed (numbers, booleans, string arrays) or strings. null/undefined are skipped. */
  readonly values?: Readonly<Record<string, unknown>>;
  /** Command-line style overrides (`--override key=value`); they win over everything else. */
  readonly overrides?: StringMap;
}

export interface LoadBrokerConfigOptions {
  /** A server.properties file to read. */
  readonly file?: string;
  readonly values?: Readonly<Record<string, unknown>>;
  readonly overrides?: StringMap;
}

/** Dynamic settings stored by the cluster (AlterConfigs on a broker or on the broker default). */
export interface DynamicBrokerConfigs {
  /** Values for this broker only (ConfigSource DYNAMIC_BROKER_CONFIG). */
  readonly perBroker?: Readonly<Record<string, string>>;
  /** Values for every broker (ConfigSource DYNAMIC_DEFAULT_BROKER_CONFIG). */
  readonly clusterDefault?: Readonly<Record<string, string>>;
}

/** Where a broker value can come from, highest precedence first. */
export type BrokerLayer = 'dynamic-broker' | 'dynamic-default' | 'static' | 'default';
export const BROKER_LAYERS: readonly BrokerLayer[] = ['dynamic-broker', 'dynamic-default', 'static', 'default'];

const LAYER_SOURCE: Readonly<Record<BrokerLayer, ConfigSource>> = {
  'dynamic-broker': ConfigSource.DYNAMIC_BROKER_CONFIG,
  'dynamic-default': ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
  static: ConfigSource.STATIC_BROKER_CONFIG,
  default: ConfigSource.DEFAULT_CONFIG,
};

interface Entry {
  readonly value: unknown;
  readonly text: string | null;
}
type Layer = ReadonlyMap<string, Entry>;

/** Wildcard bind addresses that make no sense in metadata (Kafka refuses 0.0.0.0; we also refuse ::). */
function isMetaAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
const MIN_DEDUPE_BYTES_PER_CLEANER_THREAD = 1024 * 1024;

const DEFAULT_LAYER: Layer = new Map(
  BROKER_SETTING_NAMES.map((name) => {
    const s = brokerSetting(name);
    return [name, Object.freeze({ value: s.default, text: formatValue(s, s.default) })] as const;
  }),
);

function entriesOf(m: StringMap | Readonly<Record<string, unknown>> | undefined): [string, unknown][] {
  if (!m) return [];
  return m instanceof Map ? [...(m as ReadonlyMap<string, unknown>).entries()] : Object.entries(m);
}

function asText(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** Parses the known keys of `raw` into a layer; collects unknown keys and problems. */
function parseLayer(raw: ReadonlyMap<string, unknown>, problems: ConfigProblem[], unknown?: string[]): Map<string, Entry> {
  const layer = new Map<string, Entry>();
  for (const [key, input] of raw) {
    const s = brokerSetting(key);
    if (!s) {
      unknown?.push(key);
      continue;
    }
    const r = parseAndCheck(s, input);
    if (r.ok) layer.set(key, Object.freeze({ value: r.value, text: r.text }));
    else problems.push(invalidValue(key, input === null || input === undefined ? null : asText(input), r.expected));
  }
  return layer;
}

/** Checks one dynamic update (a key and its new value, or null to delete) for AlterConfigs. */
export function validateBrokerConfigUpdate(
  changes: Readonly<Record<string, string | null>>,
  scope: 'broker' | 'cluster-default',
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, value] of Object.entries(changes)) {
    const s = brokerSetting(name);
    if (!s) {
      issues.push({ name, value, error: 'INVALID_CONFIG', message: `Unknown broker configuration '${name}'` });
    } else if (s.updateMode === 'read-only') {
      issues.push({
        name,
        value,
        error: 'INVALID_REQUEST',
        message: `Broker configuration '${name}' is read-only; change it in server.properties and restart`,
      });
    } else if (s.updateMode === 'per-broker' && scope === 'cluster-default') {
      issues.push({
        name,
        value,
        error: 'INVALID_REQUEST',
        message: `Broker configuration '${name}' can only be set for a specific broker, not as a cluster default`,
      });
    } else if (value !== null) {
      const r = parseAndCheck(s, value);
      if (!r.ok) issues.push({ name, value, error: 'INVALID_CONFIG', message: invalidValue(name, value, r.expected).message });
    }
  }
  return issues;
}

export class BrokerConfig {
  /** Supplied keys that are not Ganglion settings (warn, then ignore). */
  readonly unknownKeys: readonly string[];
  /** Every key supplied statically (file, values, overrides), known or not, as text. */
  readonly originals: ReadonlyMap<string, string>;
  /** The dynamic layers this config was built with. */
  readonly dynamicConfigs: {
    readonly perBroker: Readonly<Record<string, string>>;
    readonly clusterDefault: Readonly<Record<string, string>>;
  };

  /** broker.id, or node.id when only that is set; -1 when neither is (the cluster assigns one). */
  readonly brokerId: number;
  /** Absolute data directories, from log.dirs or else log.dir. */
  readonly logDirs: readonly string[];
  /** Time retention in ms from log.retention.ms > .minutes > .hours; -1 means keep forever. */
  readonly logRetentionMs: number;
  /** Segment age limit in ms from log.roll.ms > log.roll.hours. */
  readonly logRollMs: number;
  /** Segment roll jitter in ms from log.roll.jitter.ms > log.roll.jitter.hours. */
  readonly logRollJitterMs: number;
  /** Flush age limit in ms from log.flush.interval.ms > log.flush.scheduler.interval.ms. */
  readonly logFlushIntervalMs: number;
  /** offsets.retention.minutes in ms. */
  readonly offsetsRetentionMs: number;
  /** zookeeper.connection.timeout.ms, or the session timeout when unset. */
  readonly zookeeperConnectionTimeoutMs: number;
  readonly listenerSecurityProtocolMap: ReadonlyMap<string, SecurityProtocol>;
  /** Where to bind; host '' = all interfaces. */
  readonly listeners: readonly Endpoint[];
  /** What to publish in metadata; never has an empty host. */
  readonly advertisedListeners: readonly Endpoint[];
  readonly interBrokerListenerName: string;
  readonly interBrokerSecurityProtocol: SecurityProtocol;
  /** Parsed zookeeper.connect, or null for the embedded single-node controller. */
  readonly zookeeper: ZooKeeperConnect | null;

  private readonly layers: Readonly<Record<BrokerLayer, Layer>>;
  private readonly effective: ReadonlyMap<string, Entry & { readonly layer: BrokerLayer }>;

  private constructor(
    staticLayer: Layer,
    dynamicDefault: Layer,
    dynamicBroker: Layer,
    unknownKeys: readonly string[],
    originals: ReadonlyMap<string, string>,
    dynamic: BrokerConfig['dynamicConfigs'],
  ) {
    this.layers = {
      'dynamic-broker': dynamicBroker,
      'dynamic-default': dynamicDefault,
      static: staticLayer,
      default: DEFAULT_LAYER,
    };
    const effective = new Map<string, Entry & { layer: BrokerLayer }>();
    for (const name of BROKER_SETTING_NAMES) {
      for (const layer of BROKER_LAYERS) {
        const e = this.layers[layer].get(name);
        if (e) {
          effective.set(name, { ...e, layer });
          break;
        }
      }
    }
    this.effective = effective;
    this.unknownKeys = Object.freeze([...unknownKeys]);
    this.originals = originals;
    this.dynamicConfigs = dynamic;

    const problems: ConfigProblem[] = [];
    const get = <K extends BrokerSettingName>(k: K) => this.get(k);
    const isSet = (k: BrokerSettingName) => this.source(k) !== ConfigSource.DEFAULT_CONFIG;

    // broker.id / node.id
    const brokerId = get('broker.id');
    const nodeId = get('node.id');
    if (isSet('broker.id') && isSet('node.id') && brokerId !== nodeId) {
      problems.push({
        key: 'node.id',
        value: String(nodeId),
        expected: `the same value as broker.id (${brokerId})`,
        message: `node.id (${nodeId}) and broker.id (${brokerId}) must be equal when both are set`,
      });
    }
    this.brokerId = isSet('broker.id') ? brokerId : isSet('node.id') ? nodeId : -1;
    const maxId = get('reserved.broker.max.id');
    const idKey = isSet('broker.id') || !isSet('node.id') ? 'broker.id' : 'node.id';
    if (get('broker.id.generation.enable')) {
      if (this.brokerId < -1 || this.brokerId > maxId) {
        problems.push(
          invalidValue(
            idKey,
            String(this.brokerId),
            `-1 (assigned by the cluster) or an id between 0 and reserved.broker.max.id (${maxId})`,
          ),
        );
      }
    } else if (this.brokerId < 0) {
      problems.push(
        invalidValue(idKey, String(this.brokerId), 'an id of at least 0, since broker.id.generation.enable is false'),
      );
    }

    // log directories
    const dirsText = get('log.dirs');
    const dirsKey = dirsText !== null && dirsText.trim() !== '' ? 'log.dirs' : 'log.dir';
    const dirsRaw = dirsKey === 'log.dirs' ? dirsText! : get('log.dir');
    const dirs = dirsRaw
      .split(',')
      .map((d) => d.trim())
      .filter((d) => d !== '')
      .map((d) => resolvePath(d));
    if (dirs.length === 0) problems.push(invalidValue(dirsKey, dirsRaw, 'at least one directory'));
    else if (new Set(dirs).size !== dirs.length) problems.push(invalidValue(dirsKey, dirsRaw, 'each directory once'));
    this.logDirs = Object.freeze(dirs);

    // retention time
    const retMs = get('log.retention.ms');
    const retMinutes = get('log.retention.minutes');
    const retKey = retMs !== null ? 'log.retention.ms' : retMinutes !== null ? 'log.retention.minutes' : 'log.retention.hours';
    const retention = retMs ?? (retMinutes !== null ? retMinutes * MS_PER_MINUTE : get('log.retention.hours') * MS_PER_HOUR);
    if (retention === 0) problems.push(invalidValue(retKey, this.text(retKey), '-1 (keep forever) or a positive time'));
    this.logRetentionMs = retention < 0 ? -1 : retention;

    // segment roll and jitter
    const rollMs = get('log.roll.ms');
    this.logRollMs = rollMs ?? get('log.roll.hours') * MS_PER_HOUR;
    if (rollMs !== null && rollMs < 1)
      problems.push(invalidValue('log.roll.ms', this.text('log.roll.ms'), 'a 64-bit integer at least 1'));
    const jitterMs = get('log.roll.jitter.ms');
    this.logRollJitterMs = jitterMs ?? get('log.roll.jitter.hours') * MS_PER_HOUR;
    if (jitterMs !== null && jitterMs < 0)
      problems.push(invalidValue('log.roll.jitter.ms', this.text('log.roll.jitter.ms'), 'a 64-bit integer at least 0'));

    // flushing
    const flushMs = get('log.flush.interval.ms');
    this.logFlushIntervalMs = flushMs ?? get('log.flush.scheduler.interval.ms');
    if (flushMs !== null && flushMs < 0)
      problems.push(invalidValue('log.flush.interval.ms', this.text('log.flush.interval.ms'), 'a 64-bit integer at least 0'));

    this.offsetsRetentionMs = get('offsets.retention.minutes') * MS_PER_MINUTE;
    this.zookeeperConnectionTimeoutMs = get('zookeeper.connection.timeout.ms') ?? get('zookeeper.session.timeout.ms');

    // replication timing
    const fetchWait = get('replica.fetch.wait.max.ms');
    if (get('replica.socket.timeout.ms') < fetchWait) {
      problems.push(
        invalidValue(
          'replica.socket.timeout.ms',
          this.text('replica.socket.timeout.ms'),
          `at least replica.fetch.wait.max.ms (${fetchWait})`,
        ),
      );
    }
    if (get('replica.lag.time.max.ms') < fetchWait) {
      problems.push(
        invalidValue(
          'replica.fetch.wait.max.ms',
          this.text('replica.fetch.wait.max.ms'),
          `at most replica.lag.time.max.ms (${get('replica.lag.time.max.ms')})`,
        ),
      );
    }

    // cleaner memory
    const cleanerThreads = get('log.cleaner.threads');
    if (cleanerThreads > 0 && get('log.cleaner.dedupe.buffer.size') / cleanerThreads < MIN_DEDUPE_BYTES_PER_CLEANER_THREAD) {
      problems.push(
        invalidValue(
          'log.cleaner.dedupe.buffer.size',
          this.text('log.cleaner.dedupe.buffer.size'),
          `at least 1 MiB per cleaner thread (${cleanerThreads} threads)`,
        ),
      );
    }

    // listeners
    let protocols: ReadonlyMap<string, SecurityProtocol> = new Map();
    let listeners: readonly Endpoint[] = [];
    let advertised: readonly Endpoint[] = [];
    const mapR = parseSecurityProtocolMap('listener.security.protocol.map', get('listener.security.protocol.map'));
    if (!mapR.ok) problems.push(...mapR.problems);
    else {
      protocols = mapR.value;
      const lR = parseListeners('listeners', get('listeners'), protocols, 'listeners');
      if (!lR.ok) problems.push(...lR.problems);
      else listeners = lR.value;
      const advText = get('advertised.listeners');
      if (advText === null || advText.trim() === '') {
        advertised = listeners;
        const meta = listeners.find((e) => isMetaAddress(e.host));
        if (meta) {
          problems.push(
            invalidValue(
              'advertised.listeners',
              advText,
              `a routable address for ${meta.name}, since listeners binds ${meta.host}, which cannot be advertised`,
            ),
          );
        }
      } else {
        const aR = parseListeners('advertised.listeners', advText, protocols, 'advertised');
        if (!aR.ok) problems.push(...aR.problems);
        else {
          advertised = aR.value;
          const names = new Set(listeners.map((l) => l.name));
          const extra = advertised.filter((a) => !names.has(a.name)).map((a) => a.name);
          if (lR.ok && extra.length > 0) {
            problems.push(
              invalidValue(
                'advertised.listeners',
                advText,
                `only listener names defined in listeners (${extra.join(', ')} is not)`,
              ),
            );
          }
        }
      }
    }
    this.listenerSecurityProtocolMap = protocols;
    this.listeners = listeners;
    this.advertisedListeners = Object.freeze(
      advertised.map((e) => (e.host === '' ? Object.freeze({ ...e, host: ADVERTISED_HOST_FALLBACK }) : e)),
    );

    // inter-broker listener
    const ibName = get('inter.broker.listener.name');
    const ibProtocolSet = isSet('security.inter.broker.protocol');
    if (ibName !== null && ibProtocolSet) {
      problems.push({
        key: 'inter.broker.listener.name',
        value: ibName,
        expected: 'only one of inter.broker.listener.name and security.inter.broker.protocol',
        message: 'Set only one of inter.broker.listener.name and security.inter.broker.protocol, not both',
      });
    }
    this.interBrokerListenerName = ibName !== null ? ibName.toUpperCase() : get('security.inter.broker.protocol');
    const ibEndpoint = this.advertisedListeners.find((e) => e.name === this.interBrokerListenerName);
    if (!ibEndpoint && this.advertisedListeners.length > 0) {
      const key = ibName !== null ? 'inter.broker.listener.name' : 'security.inter.broker.protocol';
      problems.push(
        invalidValue(
          key,
          this.text(key),
          `a listener name in advertised.listeners (${this.advertisedListeners.map((e) => e.name).join(', ')})`,
        ),
      );
    }
    this.interBrokerSecurityProtocol = ibEndpoint?.securityProtocol ?? protocols.get(this.interBrokerListenerName) ?? 'PLAINTEXT';

    // ZooKeeper
    const zk = get('zookeeper.connect');
    if (zk === null || zk.trim() === '') this.zookeeper = null;
    else {
      const zR = parseZooKeeperConnect('zookeeper.connect', zk);
      if (!zR.ok) problems.push(...zR.problems);
      this.zookeeper = zR.ok ? zR.value : null;
    }

    if (problems.length > 0) throw new ConfigError(problems);
    Object.freeze(this);
  }

  /** @internal Builds a config from already-merged inputs; use buildBrokerConfig. */
  static build(input: BrokerConfigInput): BrokerConfig {
    const merged = new Map<string, unknown>();
    for (const [k, v] of entriesOf(input.properties)) merged.set(k, v);
    for (const [k, v] of entriesOf(input.values)) {
      if (v === null || v === undefined) merged.delete(k);
      else merged.set(k, v);
    }
    for (const [k, v] of entriesOf(input.overrides)) merged.set(k, v);

    const problems: ConfigProblem[] = [];
    const unknown: string[] = [];
    const staticLayer = parseLayer(merged, problems, unknown);
    if (problems.length > 0) throw new ConfigError(problems);
    const originals = new Map([...merged].map(([k, v]) => [k, asText(v)] as const));
    return new BrokerConfig(
      staticLayer,
      new Map(),
      new Map(),
      unknown,
      originals,
      Object.freeze({ perBroker: Object.freeze({}), clusterDefault: Object.freeze({}) }),
    );
  }

  /** The effective value of a setting, typed by its declaration. */
  get<K extends BrokerSettingName>(name: K): BrokerSettingValue<K> {
    const e = this.effective.get(name);
    if (!e) throw new RangeError(`'${name}' is not a broker setting`);
    return e.value as BrokerSettingValue<K>;
  }

  /** The effective value as Kafka prints it (null when unset). */
  text(name: BrokerSettingName): string | null {
    const e = this.effective.get(name);
    if (!e) throw new RangeError(`'${name}' is not a broker setting`);
    return e.text;
  }

  /** Where the effective value came from: DEFAULT_CONFIG, STATIC_BROKER_CONFIG or a dynamic source. */
  source(name: BrokerSettingName): ConfigSource {
    const e = this.effective.get(name);
    if (!e) throw new RangeError(`'${name}' is not a broker setting`);
    return LAYER_SOURCE[e.layer];
  }

  /** True when the effective value is Kafka's default (nothing set it). */
  isDefault(name: BrokerSettingName): boolean {
    return this.source(name) === ConfigSource.DEFAULT_CONFIG;
  }

  /**
   * The text of a setting in one layer: undefined when that layer does not set
   * it, null when the layer's value is null (only possible for defaults).
   */
  layerText(name: BrokerSettingName, layer: BrokerLayer): string | null | undefined {
    return this.layers[layer].get(name)?.text;
  }

  /** Statically supplied keys that start with `prefix`, with the prefix removed (e.g. "listener.name.internal."). */
  originalsWithPrefix(prefix: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of this.originals) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
    return out;
  }

  /**
   * A copy with these dynamic layers (each replaces the current one of its kind).
   * Throws ConfigError when a key is unknown, read-only, per-broker-only at the
   * cluster level, badly valued, or when the result breaks a cross-setting rule.
   */
  withDynamicConfigs(dynamic: DynamicBrokerConfigs): BrokerConfig {
    const perBroker = { ...(dynamic.perBroker ?? this.dynamicConfigs.perBroker) };
    const clusterDefault = { ...(dynamic.clusterDefault ?? this.dynamicConfigs.clusterDefault) };
    const issues = [
      ...validateBrokerConfigUpdate(clusterDefault, 'cluster-default'),
      ...validateBrokerConfigUpdate(perBroker, 'broker'),
    ];
    if (issues.length > 0) throw new ConfigError(issues.map((i) => ({ key: i.name, value: i.value, message: i.message })));
    const problems: ConfigProblem[] = [];
    const dd = parseLayer(new Map(Object.entries(clusterDefault)), problems);
    const db = parseLayer(new Map(Object.entries(perBroker)), problems);
    if (problems.length > 0) throw new ConfigError(problems);
    return new BrokerConfig(
      this.layers.static,
      dd,
      db,
      this.unknownKeys,
      this.originals,
      Object.freeze({ perBroker: Object.freeze(perBroker), clusterDefault: Object.freeze(clusterDefault) }),
    );
  }

  /** "name = value" lines for every setting, sorted, passwords hidden: for the start-up log. */
  toLoggableString(): string {
    return BROKER_SETTING_NAMES.map((name) => {
      const s = brokerSetting(name);
      const t = this.text(name);
      return `${name} = ${s.sensitive && t !== null ? '[hidden]' : (t ?? 'null')}`;
    }).join('\n');
  }
}

/** Builds a BrokerConfig from in-memory inputs (no I/O). Throws ConfigError. */
export function buildBrokerConfig(input: BrokerConfigInput = {}): BrokerConfig {
  return BrokerConfig.build(input);
}

/** Reads `file` (if given) as server.properties and builds the BrokerConfig. Throws ConfigError. */
export async function loadBrokerConfig(options: LoadBrokerConfigOptions = {}): Promise<BrokerConfig> {
  const properties = options.file === undefined ? undefined : await readPropertiesFile(options.file);
  return BrokerConfig.build({
    ...(properties ? { properties } : {}),
    ...(options.values ? { values: options.values } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
}

/** The broker settings that feed topic defaults, i.e. Kafka's broker-side topic synonyms. */
export const TOPIC_SYNONYM_CHAINS: ReadonlyMap<BrokerSettingName, readonly BrokerSettingName[]> = new Map(
  Object.values(TOPIC_SETTINGS).flatMap((t) => {
    const chain = t.synonyms.map((s) => s.name);
    return chain.map((name) => [name, chain] as const);
  }),
);

export interface DescribeBrokerOptions {
  /** Only these settings (unknown names are skipped); all when null or absent. */
  readonly names?: Iterable<string> | null;
  /**
   * 'broker' (default) describes this broker's effective settings; 'cluster-default'
   * describes the broker-default resource (empty name): only the settings set
   * as cluster-wide dynamic defaults.
   */
  readonly scope?: 'broker' | 'cluster-default';
}

/** DescribeConfigs entries for a BROKER resource. */
export function describeBrokerConfig(config: BrokerConfig, options: DescribeBrokerOptions = {}): ConfigEntryDescription[] {
  const clusterDefault = options.scope === 'cluster-default';
  const names = selectNames(BROKER_SETTING_NAMES, options.names, isBrokerSetting);
  const out: ConfigEntryDescription[] = [];
  for (const name of names) {
    const s = brokerSetting(name);
    if (clusterDefault && config.layerText(name, 'dynamic-default') === undefined) continue;
    let synonyms = brokerSynonyms(config, TOPIC_SYNONYM_CHAINS.get(name) ?? [name], s.sensitive);
    const own = synonyms.findIndex((x) => x.name === name);
    synonyms = own < 0 ? [] : synonyms.slice(own);
    if (clusterDefault) synonyms = synonyms.filter((x) => x.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
    const value = clusterDefault ? config.layerText(name, 'dynamic-default')! : config.text(name);
    out.push(
      Object.freeze({
        name,
        value: s.sensitive ? null : value,
        isDefault: source === ConfigSource.DEFAULT_CONFIG,
        source,
        readOnly: s.updateMode === 'read-only',
        sensitive: s.sensitive,
        synonyms: Object.freeze(synonyms),
        type: CONFIG_TYPE_CODE[s.type],
        documentation: s.doc,
      }),
    );
  }
  return out;
}
