/**
 * A topic's effective settings: its own overrides, else the broker's value
 * through the synonym chain (retention.ms <- log.retention.ms <- .minutes <- .hours),
 * else Kafka's default. Pure: no I/O.
 *
 *   const tc = resolveTopicConfig(brokerConfig, topic.configs);
 *   tc.get('retention.ms')            // number, -1 = keep forever
 *   tc.source('retention.ms')         // DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG, ...
 *
 * CreateTopics / AlterConfigs validate requested overrides with
 * validateTopicConfigs (one ConfigIssue per rejected entry, error INVALID_CONFIG);
 * DescribeConfigs for a TOPIC resource uses describeTopicConfig.
 */

import type { BrokerConfig } from './broker-config.js';
import {
  TOPIC_SETTING_NAMES,
  isTopicSetting,
  topicSetting,
  type TopicSettingDefinition,
  type TopicSettingName,
  type TopicSettingValue,
} from './definitions.js';
import { brokerSynonyms, selectNames, type ConfigEntryDescription } from './describe.js';
import { ConfigError, invalidValue, type ConfigIssue } from './errors.js';
import { CONFIG_TYPE_CODE, ConfigSource, formatValue, parseAndCheck } from './setting.js';

const UNIT_MS = { minutes: 60_000, hours: 3_600_000 } as const;

interface Resolved {
  readonly value: unknown;
  readonly text: string | null;
  readonly source: ConfigSource;
}

/** The value a topic without an override gets from the broker (or Kafka's default). */
function inherited(def: TopicSettingDefinition, broker: BrokerConfig | undefined): Resolved {
  if (broker) {
    for (const syn of def.synonyms) {
      const v = broker.get(syn.name) as unknown;
      if (v === null) continue;
      let value = syn.unit && typeof v === 'number' ? v * UNIT_MS[syn.unit] : v;
      if (def.negativeMeansUnlimited && typeof value === 'number' && value < 0) value = -1;
      return { value, text: formatValue(def, value), source: broker.source(syn.name) };
    }
  }
  return { value: def.default, text: formatValue(def, def.default), source: ConfigSource.DEFAULT_CONFIG };
}

/** Cross-setting rules on effective values; returns the offending issues. */
function crossChecks(get: (n: TopicSettingName) => unknown, overrides: Readonly<Record<string, unknown>>): ConfigIssue[] {
  const minLag = get('min.compaction.lag.ms') as number;
  const maxLag = get('max.compaction.lag.ms') as number;
  if (minLag > maxLag) {
    const name = 'min.compaction.lag.ms' in overrides ? 'min.compaction.lag.ms' : 'max.compaction.lag.ms';
    return [
      {
        name,
        value: String(get(name)),
        error: 'INVALID_CONFIG',
        message: `min.compaction.lag.ms (${minLag}) must not be greater than max.compaction.lag.ms (${maxLag})`,
      },
    ];
  }
  return [];
}

/**
 * Checks topic overrides from CreateTopics or (Incremental)AlterConfigs, after
 * merging with the topic's existing overrides. Unknown names, null values and
 * bad values are INVALID_CONFIG; an empty array means all is well. Pass the
 * broker config so cross-setting rules see the values the topic would inherit.
 */
export function validateTopicConfigs(
  overrides: Readonly<Record<string, string | null | undefined>>,
  broker?: BrokerConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const parsed = new Map<string, unknown>();
  for (const [name, value] of Object.entries(overrides)) {
    const def = topicSetting(name);
    if (!def) {
      issues.push({ name, value: value ?? null, error: 'INVALID_CONFIG', message: `Unknown topic configuration '${name}'` });
      continue;
    }
    if (value === null || value === undefined) {
      issues.push({ name, value: null, error: 'INVALID_CONFIG', message: `Topic configuration '${name}' needs a value` });
      continue;
    }
    const r = parseAndCheck(def, value);
    if (r.ok) parsed.set(name, r.value);
    else issues.push({ name, value, error: 'INVALID_CONFIG', message: invalidValue(name, value, r.expected).message });
  }
  if (issues.length > 0) return issues;
  const get = (n: TopicSettingName) => (parsed.has(n) ? parsed.get(n) : inherited(topicSetting(n), broker).value);
  return crossChecks(get, overrides);
}

/**
 * The first problem with these overrides as a message, or null: the shape the
 * controller's `validateTopicConfigs` hook expects.
 */
export function topicConfigError(overrides: Readonly<Record<string, string>>, broker?: BrokerConfig): string | null {
  return validateTopicConfigs(overrides, broker)[0]?.message ?? null;
}

export class TopicConfig {
  /** The topic's own overrides that are known settings, as stored. */
  readonly overrides: Readonly<Record<string, string>>;
  /** Stored override names that are not topic settings (ignored). */
  readonly unknownKeys: readonly string[];
  /** cleanup.policy contains "compact". */
  readonly compact: boolean;
  /** cleanup.policy contains "delete". */
  readonly delete: boolean;

  private readonly values: ReadonlyMap<string, Resolved>;

  constructor(broker: BrokerConfig, overrides: Readonly<Record<string, string>>) {
    const known: Record<string, string> = {};
    const unknown: string[] = [];
    const values = new Map<string, Resolved>();
    const problems = [];
    for (const [name, value] of Object.entries(overrides)) {
      const def = topicSetting(name);
      if (!def) {
        unknown.push(name);
        continue;
      }
      const r = parseAndCheck(def, value);
      if (!r.ok) {
        problems.push(invalidValue(name, value, r.expected));
        continue;
      }
      known[name] = value;
      values.set(name, { value: r.value, text: r.text, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    }
    if (problems.length > 0) throw new ConfigError(problems);
    for (const name of TOPIC_SETTING_NAMES) if (!values.has(name)) values.set(name, inherited(topicSetting(name), broker));
    this.values = values;
    const cross = crossChecks((n) => values.get(n)!.value, known);
    if (cross.length > 0) throw new ConfigError(cross.map((i) => ({ key: i.name, value: i.value, message: i.message })));
    this.overrides = Object.freeze(known);
    this.unknownKeys = Object.freeze(unknown);
    const policy = this.get('cleanup.policy');
    this.compact = policy.includes('compact');
    this.delete = policy.includes('delete');
    Object.freeze(this);
  }

  /** The effective value, typed by the declaration. */
  get<K extends TopicSettingName>(name: K): TopicSettingValue<K> {
    const r = this.values.get(name);
    if (!r) throw new RangeError(`'${name}' is not a topic setting`);
    return r.value as TopicSettingValue<K>;
  }

  /** The effective value as Kafka prints it. */
  text(name: TopicSettingName): string | null {
    const r = this.values.get(name);
    if (!r) throw new RangeError(`'${name}' is not a topic setting`);
    return r.text;
  }

  /** DYNAMIC_TOPIC_CONFIG for an override, else the source of the broker value it inherits. */
  source(name: TopicSettingName): ConfigSource {
    const r = this.values.get(name);
    if (!r) throw new RangeError(`'${name}' is not a topic setting`);
    return r.source;
  }

  isOverridden(name: TopicSettingName): boolean {
    return Object.hasOwn(this.overrides, name);
  }
}

/**
 * A topic's effective configuration. Unknown stored keys are ignored (listed
 * in `unknownKeys`); a bad stored value throws ConfigError.
 */
export function resolveTopicConfig(broker: BrokerConfig, overrides: Readonly<Record<string, string>> = {}): TopicConfig {
  return new TopicConfig(broker, overrides);
}

export interface DescribeTopicOptions {
  /** Only these settings (unknown names are skipped); all when null or absent. */
  readonly names?: Iterable<string> | null;
}

/** DescribeConfigs entries for a TOPIC resource. */
export function describeTopicConfig(
  broker: BrokerConfig,
  overrides: Readonly<Record<string, string>>,
  options: DescribeTopicOptions = {},
): ConfigEntryDescription[] {
  const tc = resolveTopicConfig(broker, overrides);
  return selectNames(TOPIC_SETTING_NAMES, options.names, isTopicSetting).map((name) => {
    const def = topicSetting(name);
    const value = def.sensitive ? null : tc.text(name);
    const synonyms = brokerSynonyms(
      broker,
      def.synonyms.map((s) => s.name),
      def.sensitive,
    );
    if (tc.isOverridden(name)) synonyms.unshift({ name, value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
    return Object.freeze({
      name,
      value,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      source,
      readOnly: false,
      sensitive: def.sensitive,
      synonyms: Object.freeze(synonyms),
      type: CONFIG_TYPE_CODE[def.type],
      documentation: def.doc,
    });
  });
}
