/**
 * DescribeConfigs entries, computed the way Kafka computes them.
 *
 * For a broker setting N, the synonyms are the layers that set N or one of its
 * broker synonyms (log.retention.ms/minutes/hours, log.roll.ms/hours,
 * log.roll.jitter.ms/hours, log.flush.interval.ms/log.flush.scheduler.interval.ms),
 * listed per-broker dynamic first, then cluster-default dynamic, then static,
 * then defaults, and cut so that the list starts at N itself. The entry's
 * source is the first synonym's (DEFAULT_CONFIG when the list is empty, e.g.
 * log.retention.ms left unset).
 *
 * For a topic setting, the synonyms are the topic override (DYNAMIC_TOPIC_CONFIG)
 * if any, followed by the broker synonyms in the same layer order, uncut; a
 * topic that inherits everything reports e.g. retention.ms=604800000 with
 * synonyms [DEFAULT_CONFIG log.retention.hours=168].
 *
 * Sensitive (password) settings never carry values. Handlers that serve
 * IncludeSynonyms=false or DescribeConfigs v0 simply drop `synonyms`; v0's
 * IsDefault is `isDefault`.
 */

import type { BrokerConfig, BrokerLayer } from './broker-config.js';
import type { BrokerSettingName } from './definitions.js';
import { ConfigSource, type ConfigType } from './setting.js';

export interface ConfigSynonymDescription {
  readonly name: string;
  readonly value: string | null;
  readonly source: ConfigSource;
}

export interface ConfigEntryDescription {
  readonly name: string;
  /** The effective value as Kafka prints it; null when unset or sensitive. */
  readonly value: string | null;
  /** True when nothing set the value (source DEFAULT_CONFIG). */
  readonly isDefault: boolean;
  readonly source: ConfigSource;
  /** True when the setting cannot be changed with AlterConfigs. */
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  readonly synonyms: readonly ConfigSynonymDescription[];
  /** DescribeConfigs v3+ ConfigType code. */
  readonly type: ConfigType;
  readonly documentation: string;
}

const SYNONYM_LAYERS: readonly [BrokerLayer, ConfigSource][] = [
  ['dynamic-broker', ConfigSource.DYNAMIC_BROKER_CONFIG],
  ['dynamic-default', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
  ['static', ConfigSource.STATIC_BROKER_CONFIG],
  ['default', ConfigSource.DEFAULT_CONFIG],
];

/** The layers that set any of `chain`, in Kafka's order; unset (null) defaults are left out. */
export function brokerSynonyms(
  config: BrokerConfig,
  chain: readonly BrokerSettingName[],
  sensitive: boolean,
): ConfigSynonymDescription[] {
  const out: ConfigSynonymDescription[] = [];
  for (const [layer, source] of SYNONYM_LAYERS) {
    for (const name of chain) {
      const text = config.layerText(name, layer);
      if (text === undefined || text === null) continue;
      out.push(Object.freeze({ name, value: sensitive ? null : text, source }));
    }
  }
  return out;
}

/** Picks the requested names (in request order, unknown ones skipped) or all of them. */
export function selectNames<N extends string>(
  all: readonly N[],
  requested: Iterable<string> | null | undefined,
  isKnown: (n: string) => n is N,
): N[] {
  if (requested === null || requested === undefined) return [...all];
  const out: N[] = [];
  const seen = new Set<string>();
  for (const n of requested) {
    if (isKnown(n) && !seen.has(n)) {
      seen.add(n);
      out.push(n);
    }
  }
  return out;
}
