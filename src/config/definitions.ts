/**
 * The declaration tables and lookups by name. The tables themselves live in
 * broker-settings.ts and topic-settings.ts; this module is what other code
 * imports when it needs to ask "is this a setting, and what is it?".
 */

import { BROKER_SETTINGS, type BrokerSettingName } from './broker-settings.js';
import { TOPIC_SETTINGS, type TopicExtras, type TopicSettingName } from './topic-settings.js';
import type { NamedSpec } from './setting.js';

export * from './broker-settings.js';
export * from './topic-settings.js';

export type BrokerSettingDefinition = NamedSpec;
export type TopicSettingDefinition = NamedSpec & TopicExtras;

const brokerTable: Readonly<Record<string, BrokerSettingDefinition>> = BROKER_SETTINGS;
const topicTable: Readonly<Record<string, TopicSettingDefinition>> = TOPIC_SETTINGS;

export function isBrokerSetting(name: string): name is BrokerSettingName {
  return Object.hasOwn(brokerTable, name);
}

export function isTopicSetting(name: string): name is TopicSettingName {
  return Object.hasOwn(topicTable, name);
}

export function brokerSetting(name: BrokerSettingName): BrokerSettingDefinition;
export function brokerSetting(name: string): BrokerSettingDefinition | undefined;
export function brokerSetting(name: string): BrokerSettingDefinition | undefined {
  return isBrokerSetting(name) ? brokerTable[name] : undefined;
}

export function topicSetting(name: TopicSettingName): TopicSettingDefinition;
export function topicSetting(name: string): TopicSettingDefinition | undefined;
export function topicSetting(name: string): TopicSettingDefinition | undefined {
  return isTopicSetting(name) ? topicTable[name] : undefined;
}

/** All broker setting names, sorted. */
export const BROKER_SETTING_NAMES: readonly BrokerSettingName[] = Object.freeze(
  (Object.keys(BROKER_SETTINGS) as BrokerSettingName[]).sort(),
);

/** All topic setting names, sorted. */
export const TOPIC_SETTING_NAMES: readonly TopicSettingName[] = Object.freeze(
  (Object.keys(TOPIC_SETTINGS) as TopicSettingName[]).sort(),
);

/**
 * Broker settings that are a synonym of some topic setting, i.e. the broker-wide
 * defaults for topics (Kafka's "Updating Default Topic Configuration" set).
 */
export const TOPIC_DEFAULT_BROKER_SETTINGS: ReadonlySet<BrokerSettingName> = new Set(
  Object.values(topicTable).flatMap((t) => t.synonyms.map((s) => s.name)),
);
